// The volume worker's connection RPC methods (Cinder's manager initialize_connection and
// terminate_connection): the backend exports a volume to a consumer's connector, or stops.
import type { JsonObject } from '@alto/kernel';
import { InternalError, ValidationError } from '@alto/kernel';
import type { RpcHandlers } from '@alto/bus';
import { VolumeBackendError, type VolumeBackend } from '../spi/volume-backend.js';

/** The backend's answer as it crosses the bus: Cinder's raw `{driver_volume_type, data}`. */
export interface WireConnectionInfo {
  driver_volume_type: string;
  data: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function args(a: JsonObject, connectorOptional = false): { volumeId: string; connector: Record<string, unknown> } {
  const volumeId = a.volume_id;
  if (typeof volumeId !== 'string' || !volumeId) throw new ValidationError('Invalid input received: volume_id is required', 'volume.invalid_input');
  // a force detach may name no connector: the backend drops every connection it has
  if (connectorOptional && (a.connector === null || a.connector === undefined)) return { volumeId, connector: {} };
  // COMPAT(cinder): a connector that is not an object fails the driver's validate_connector (InvalidInput)
  if (!isObject(a.connector)) throw new ValidationError('Invalid input received: connector must be an object', 'volume.invalid_connector');
  return { volumeId, connector: a.connector };
}

/** What the API sees when the backend fails (Cinder's VolumeBackendAPIException wording). */
function backendFailure(what: string, err: unknown): Error {
  if (err instanceof VolumeBackendError && err.code === 'invalid') return new ValidationError(`Invalid input received: ${err.message}`, 'volume.invalid_connector');
  const reason = err instanceof Error ? err.message : String(err);
  return new InternalError(`Bad or unexpected response from the storage volume backend API: ${what} failed (error: ${reason}).`, 'volume.backend_api');
}

/**
 * The RPC handlers a volume worker serves besides its reconcile kicks: both are `call`s that
 * name the volume and the connector; the answer is the backend's raw connection info (the API
 * adds access mode, QoS and encryption, as Cinder's manager does in _parse_connection_options).
 */
export function connectionHandlers(backend: VolumeBackend): RpcHandlers {
  return {
    initialize_connection: async (a) => {
      const { volumeId, connector } = args(a);
      try {
        const info = await backend.initializeConnection(volumeId, connector);
        const wire: WireConnectionInfo = { driver_volume_type: info.driverVolumeType, data: info.data };
        return wire as unknown as JsonObject;
      } catch (err) {
        throw backendFailure('Driver initialize connection', err);
      }
    },
    terminate_connection: async (a) => {
      const { volumeId, connector } = args(a, true);
      try {
        await backend.terminateConnection(volumeId, connector);
        return null;
      } catch (err) {
        throw backendFailure('Terminate volume connection', err);
      }
    },
  };
}
