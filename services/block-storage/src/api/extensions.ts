// GET /extensions: the API extensions this service serves, as Cinder's extension manager lists
// them (name, alias, description, updated, links). Only extensions whose routes or attributes
// exist here are listed; names and dates are upstream's (cinder/api/contrib/*.py).
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import { NotFound } from '../domain/errors.js';

interface Extension {
  name: string;
  alias: string;
  description: string;
  updated: string;
  links: never[];
}

const ext = (name: string, alias: string, description: string, updated: string): Extension => ({ name, alias, description, updated, links: [] });

/** The served extensions (Cinder Zed's, less consistency groups, manage/unmanage, encryption). */
export const EXTENSIONS: readonly Extension[] = [
  ext('AdminActions', 'os-admin-actions', 'Enable admin actions.', '2012-08-25T00:00:00+00:00'),
  ext('AvailabilityZones', 'os-availability-zone', 'Describe Availability Zones.', '2013-06-27T00:00:00+00:00'),
  ext('Backups', 'backups', 'Backups support.', '2012-12-12T00:00:00+00:00'),
  ext('Capabilities', 'capabilities', 'Capabilities support.', '2015-08-31T00:00:00+00:00'),
  ext('ExtendedServices', 'os-extended-services', 'Extended services support.', '2014-01-10T00:00:00-00:00'),
  ext('ExtendedSnapshotAttributes', 'os-extended-snapshot-attributes', 'Extended SnapshotAttributes support.', '2012-06-19T00:00:00+00:00'),
  ext('Hosts', 'os-hosts', 'Admin-only host administration.', '2011-06-29T00:00:00+00:00'),
  ext('Qos_specs_manage', 'qos-specs', 'QoS specs support.', '2013-08-02T00:00:00+00:00'),
  ext('QuotaClasses', 'os-quota-class-sets', 'Quota classes management support.', '2012-03-12T00:00:00+00:00'),
  ext('Quotas', 'os-quota-sets', 'Quota management support.', '2011-08-08T00:00:00+00:00'),
  ext('SchedulerHints', 'OS-SCH-HNT', 'Pass arbitrary key/value pairs to the scheduler.', '2013-04-18T00:00:00+00:00'),
  ext('Scheduler_stats', 'scheduler-stats', 'Scheduler stats support.', '2014-09-07T00:00:00+00:00'),
  ext('Services', 'os-services', 'Services support.', '2012-10-28T00:00:00-00:00'),
  ext('SnapshotActions', 'os-snapshot-actions', 'Enable snapshot manager actions.', '2013-07-16T00:00:00+00:00'),
  ext('TypesExtraSpecs', 'os-types-extra-specs', 'Type extra specs support.', '2011-08-24T00:00:00+00:00'),
  ext('TypesManage', 'os-types-manage', 'Types manage support.', '2011-08-24T00:00:00+00:00'),
  ext('UsedLimits', 'os-used-limits', 'Provide data on limited resources that are being used.', '2013-10-03T00:00:00+00:00'),
  ext('VolumeActions', 'os-volume-actions', 'Enable volume actions.', '2012-05-31T00:00:00+00:00'),
  ext('VolumeHostAttribute', 'os-vol-host-attr', 'Expose host as an attribute of a volume.', '2011-11-03T00:00:00+00:00'),
  ext('VolumeImageMetadata', 'os-vol-image-meta', 'Show image metadata associated with the volume.', '2012-12-07T00:00:00+00:00'),
  ext('VolumeMigStatusAttribute', 'os-vol-mig-status-attr', 'Expose migration_status as an attribute of a volume.', '2013-08-08T00:00:00+00:00'),
  ext('VolumeTenantAttribute', 'os-vol-tenant-attr', 'Expose the internal project_id as an attribute of a volume.', '2011-11-03T00:00:00+00:00'),
  ext('VolumeTransfer', 'os-volume-transfer', 'Volume transfer management support.', '2013-05-29T00:00:00+00:00'),
  ext('VolumeTypeAccess', 'os-volume-type-access', 'Volume type access support.', '2014-06-26T00:00:00Z'),
];

export function extensionRoutes(): AnyRoute[] {
  return [
    // COMPAT(cinder): the extension list has no policy of its own; any authenticated caller reads it
    defineRoute({ method: 'GET', url: '/extensions', policy: null, errors: [], handler: async () => ({ extensions: EXTENSIONS }) }),
    defineRoute({
      method: 'GET',
      url: '/extensions/:alias',
      params: Type.Object({ alias: Type.String() }),
      policy: null,
      errors: [404],
      handler: async ({ params }) => {
        const found = EXTENSIONS.find((e) => e.alias === params.alias);
        if (!found) throw NotFound();
        return { extension: found };
      },
    }),
  ];
}
