// The worker's connection RPC handlers against the real file backend: the backend's connection
// info on the wire, Cinder's wording when the backend fails, connectors that are not objects.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { InternalError, ValidationError } from '@alto/kernel';
import type { RpcRequest } from '@alto/bus';
import { FileBackend } from '../drivers/file-backend.js';
import { connectionHandlers } from './volume-connections.js';

const noQemu = spawnSync('sh', ['-c', 'command -v qemu-img']).status !== 0 ? 'qemu-img is not installed (Debian qemu-utils)' : false;
const request: RpcRequest = { method: 'x', kind: 'call', requestId: 'req-1', context: undefined };

describe('volume connection handlers', { skip: noQemu }, () => {
  let dir: string;
  let backend: FileBackend;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'alto-connections-'));
    backend = new FileBackend({ name: 'file', directory: dir });
    await backend.open();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('initialize answers the backend connection info as Cinder puts it on the wire; terminate accepts no connector', async () => {
    const id = randomUUID();
    await backend.createVolume({ volumeId: id, sizeGb: 1 });
    const h = connectionHandlers(backend);
    const info = (await h.initialize_connection!({ volume_id: id, connector: { host: 'c1' } }, request)) as { driver_volume_type: string; data: Record<string, unknown> };
    assert.equal(info.driver_volume_type, 'file');
    assert.equal(info.data.device_path, join(dir, `volume-${id}`));
    assert.equal(info.data.format, 'raw');
    assert.equal(await h.terminate_connection!({ volume_id: id, connector: null }, request), null);
  });

  test('a missing volume is the backend API failure Cinder reports; a connector that is not an object is invalid input', async () => {
    const h = connectionHandlers(backend);
    await assert.rejects(h.initialize_connection!({ volume_id: randomUUID(), connector: {} }, request) as Promise<unknown>, (err: unknown) => {
      assert.ok(err instanceof InternalError);
      assert.equal(err.code, 'volume.backend_api');
      assert.match(err.message, /^Bad or unexpected response from the storage volume backend API: Driver initialize connection failed \(error: /);
      return true;
    });
    await assert.rejects(h.initialize_connection!({ volume_id: randomUUID(), connector: 'iqn' }, request) as Promise<unknown>, (err: unknown) => err instanceof ValidationError);
    await assert.rejects(h.terminate_connection!({ connector: {} }, request) as Promise<unknown>, (err: unknown) => err instanceof ValidationError);
  });
});
