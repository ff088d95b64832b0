// GET /os-availability-zone: the zones of the volume services (cinder/api/contrib/availability_zones.py).
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import type { OsServicesFrame } from './services.js';
import { availabilityZoneView } from './services.views.js';

export function availabilityZoneRoutes(frame: OsServicesFrame): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/os-availability-zone',
      // Cinder registers no policy for zones: any authenticated caller lists them
      policy: null,
      errors: [],
      response: {
        200: Type.Object({ availabilityZoneInfo: Type.Array(Type.Object({ zoneName: Type.String(), zoneState: Type.Object({ available: Type.Boolean() }) })) }),
      },
      handler: async () => ({ availabilityZoneInfo: (await frame.services.osServices.availabilityZones()).map(availabilityZoneView) }),
    }),
  ];
}
