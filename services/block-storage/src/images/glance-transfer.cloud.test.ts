// The image transfer wired as the composition root wires it, against `alto up` (real Keystone tokens, the catalog, the image API validating tokens over HTTP): an image into a volume and back, byte-compared.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Value from 'typebox/value';
import { passwordToken, type PasswordAuth } from '@alto/clients';
import { systemClock } from '@alto/kernel';
import { ALTO, startCloud, type Cloud } from '@alto/testing';
import { BlockStorageSection, type BlockStorageConfig } from '../config.js';
import { FileBackend } from '../drivers/file-backend.js';
import { GlanceClient, glanceEndpoint, userToken, type TokenSource } from './glance-client.js';
import { checkImageForVolume } from './image-checks.js';
import { imageServiceOf } from './image-service.js';
import { patternedQcow2, sameContents } from './testing-glance.js';

const skip = !existsSync(ALTO) ? `${ALTO} is not built` : false;

describe('image transfer against alto up', { skip }, () => {
  let cloud: Cloud;
  let dir: string;
  let service: PasswordAuth;

  before(async () => {
    cloud = await startCloud('embedded');
    dir = mkdtempSync(join(tmpdir(), 'alto-bs-cloud-'));
    // the cloud's admin stands in for the cinder service user (admin on its project, as alto up makes service users)
    service = { authUrl: `${cloud.url}/v3`, username: 'admin', password: cloud.adminPassword, projectName: 'admin' };
  });
  after(async () => {
    await cloud?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the Glance endpoint comes from glance_api_servers (http:// added) or the service token catalog', async () => {
    const wiring = imageServiceOf(Value.Default(BlockStorageSection, {}) as BlockStorageConfig, service, systemClock);
    assert.equal(await wiring.tokens.catalogUrl('image'), cloud.imageUrl);
    assert.equal(await glanceEndpoint(cloud.imageUrl.replace('http://', '') + ', http://other:9292', wiring.tokens)(), cloud.imageUrl);
  });

  test('an image becomes a volume and the volume an image with the service token; the caller sees them with theirs', async () => {
    const config = Value.Default(BlockStorageSection, {}) as BlockStorageConfig;
    config.default.image_conversion_dir = join(dir, 'conversion');
    const { glance, transfer } = imageServiceOf(config, service, systemClock);
    const user = userToken((await passwordToken(service)).id);
    const backend = new FileBackend({ name: 'file', directory: join(dir, 'volumes') });
    await backend.open();

    const src = join(dir, 'src.qcow2');
    await patternedQcow2(src, '16M');
    const name = `cloud-${randomUUID().slice(0, 8)}`;
    const created = await glance.createImage(user, { name, disk_format: 'qcow2', container_format: 'bare' });
    await glance.uploadFile(user, created.id, src);
    const image = await checkImageForVolume(glance, user, name, 1);
    assert.equal(image.id, created.id);

    const volumeId = randomUUID();
    const props = await transfer.copyImageToVolume(backend, { volumeId, imageId: image.id, sizeGb: 1 });
    assert.equal(props.image_id, image.id);
    assert.ok(await sameContents(src, 'qcow2', backend.volumePath(volumeId), 'raw'));

    const target = await glance.createImage(user, { name: `${name}-back`, disk_format: 'qcow2', container_format: 'bare' });
    await transfer.copyVolumeToImage(backend, { volumeId, imageId: target.id, diskFormat: 'qcow2' });
    const back = join(dir, 'back.qcow2');
    await glance.downloadFile(user, await glance.getImage(user, target.id), back);
    assert.ok(await sameContents(backend.volumePath(volumeId), 'raw', back, 'qcow2'));
  });

  test('a renewable token Keystone does not know is replaced once; a user token is not', async () => {
    const real = (await passwordToken(service)).id;
    let asked = 0;
    const tokens: TokenSource = { renewable: true, token: async (fresh) => (asked++, fresh ? real : 'not-a-token') };
    const glance = new GlanceClient({ endpoint: cloud.imageUrl });
    const created = await glance.createImage(userToken(real), { name: 'renew', disk_format: 'raw', container_format: 'bare' });
    assert.equal((await glance.getImage(tokens, created.id)).id, created.id);
    assert.equal(asked, 2);
    await assert.rejects(glance.getImage(userToken('not-a-token'), created.id), (err) => (err as { status?: number }).status === 401);
  });
});
