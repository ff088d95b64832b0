// Images into volumes and back through a real image API and the file backend: qcow2 data made with qemu-img, bytes compared with qemu-img compare, and the refusals of data Cinder would not read.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { FileBackend } from '../drivers/file-backend.js';
import { VolumeBackendError } from '../spi/volume-backend.js';
import { GlanceClient, userToken, type GlanceImage } from './glance-client.js';
import { GlanceImageTransfer, checkImageFile, preflightImageFile } from './glance-transfer.js';
import { patternedQcow2, run, sameContents, startTestGlance, type TestGlance } from './testing-glance.js';

describe('GlanceImageTransfer', () => {
  let glance: TestGlance;
  let client: GlanceClient;
  let backend: FileBackend;
  let transfer: GlanceImageTransfer;
  let dir: string;
  let conversion: string;
  const member = userToken('member');

  before(async () => {
    glance = await startTestGlance();
    client = new GlanceClient({ endpoint: glance.url });
    dir = mkdtempSync(join(tmpdir(), 'alto-bs-transfer-'));
    conversion = join(dir, 'conversion');
    backend = new FileBackend({ name: 'file', directory: join(dir, 'volumes'), defaultFormat: 'qcow2' });
    await backend.open();
    transfer = new GlanceImageTransfer({ glance: client, tokens: glance.serviceTokens, conversionDir: conversion });
  });
  after(async () => {
    await glance?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An active image of the member's project holding `file`. */
  async function imageOf(file: string, diskFormat: string, extra: Record<string, unknown> = {}): Promise<GlanceImage> {
    const image = await client.createImage(member, { name: `img-${randomUUID().slice(0, 8)}`, disk_format: diskFormat, container_format: 'bare', ...extra });
    await client.uploadFile(member, image.id, file);
    return client.getImage(member, image.id);
  }

  const refusal = (re: RegExp) => (err: unknown) => err instanceof VolumeBackendError && err.code === 'invalid' && re.test(err.message);

  test('an image becomes a volume with the same bytes, with the service token renewed after a 401, and leaves no scratch file', async () => {
    const src = join(dir, 'src.qcow2');
    await patternedQcow2(src, '16M');
    const image = await imageOf(src, 'qcow2', { os_distro: 'debian', hw_disk_bus: 'virtio' });
    assert.equal(image.status, 'active');
    const before = glance.serviceTokens.fresh;
    const volumeId = randomUUID();
    await backend.createVolume({ volumeId, sizeGb: 1 });
    const props = await transfer.copyImageToVolume(backend, { volumeId, imageId: image.id, sizeGb: 1 });
    assert.equal(glance.serviceTokens.fresh, before + 1, 'the refused service token was renewed once');
    assert.equal((await backend.inspectVolume(volumeId)).virtualSizeBytes, 1024 ** 3);
    assert.ok(await sameContents(src, 'qcow2', backend.volumePath(volumeId), 'qcow2'), 'volume holds the image bytes');
    const blank = join(dir, 'blank.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '16M']);
    assert.ok(!(await sameContents(blank, 'qcow2', backend.volumePath(volumeId), 'qcow2')), 'the comparison can fail');
    assert.deepEqual(props, {
      os_distro: 'debian',
      hw_disk_bus: 'virtio',
      image_id: image.id,
      image_name: image.name,
      checksum: image.checksum,
      container_format: 'bare',
      disk_format: 'qcow2',
      min_disk: '0',
      min_ram: '0',
      size: String(image.size),
      signature_verified: 'False',
    });
    assert.deepEqual(readdirSync(conversion), []);
  });

  test('a raw image converts into a qcow2 volume', async () => {
    const src = join(dir, 'src.qcow2');
    const raw = join(dir, 'src.raw');
    await run('qemu-img', ['convert', '-q', '-f', 'qcow2', '-O', 'raw', src, raw]);
    const image = await imageOf(raw, 'raw');
    const volumeId = randomUUID();
    await transfer.copyImageToVolume(backend, { volumeId, imageId: image.id, sizeGb: 1 });
    assert.ok(await sameContents(raw, 'raw', backend.volumePath(volumeId), 'qcow2'));
  });

  // raw is the same path as qcow2 (the backend writes either); it is left out because a 1 GiB raw
  // upload pushes a whole GiB through the image API's hashing (half a minute on this machine)
  test('a volume uploads into a queued image as qcow2 or vmdk with the same bytes; a rerun after success changes nothing', async () => {
    const src = join(dir, 'up.qcow2');
    await patternedQcow2(src, '32M');
    const volumeId = randomUUID();
    await backend.copyImageToVolume(volumeId, src, 'qcow2', 1);
    for (const diskFormat of ['qcow2', 'vmdk']) {
      const image = await client.createImage(member, { name: `from-volume-${diskFormat}`, disk_format: diskFormat, container_format: 'bare' });
      assert.equal(image.status, 'queued');
      await transfer.copyVolumeToImage(backend, { volumeId, imageId: image.id, diskFormat });
      const done = await client.getImage(member, image.id);
      assert.equal(done.status, 'active');
      const back = join(dir, `back.${diskFormat}`);
      await client.downloadFile(member, done, back);
      assert.ok(await sameContents(backend.volumePath(volumeId), 'qcow2', back, diskFormat), `${diskFormat} upload holds the volume's bytes`);
      // the worker killed after the upload runs it again
      await transfer.copyVolumeToImage(backend, { volumeId, imageId: image.id, diskFormat });
      assert.equal((await client.getImage(member, image.id)).checksum, done.checksum);
    }
    assert.deepEqual(readdirSync(conversion), []);
  });

  test('an upload the backend refuses deletes the queued image, as Cinder does', async () => {
    const image = await client.createImage(member, { name: 'doomed', disk_format: 'raw', container_format: 'bare' });
    await assert.rejects(transfer.copyVolumeToImage(backend, { volumeId: randomUUID(), imageId: image.id, diskFormat: 'raw' }), (err) => err instanceof VolumeBackendError && err.code === 'not_found');
    await assert.rejects(client.getImage(member, image.id), (err) => (err as { status?: number }).status === 404);
  });

  test('refuses data that is not what the image claims, qcow2 with a backing file, images larger than the volume, and images not active', async () => {
    const src = join(dir, 'src.qcow2');
    const claimsRaw = await imageOf(src, 'raw');
    const volumeId = randomUUID();
    await assert.rejects(transfer.copyImageToVolume(backend, { volumeId, imageId: claimsRaw.id, sizeGb: 1 }), refusal(/claimed to be 'raw' but the image data appears to be in a different format/));

    const base = join(dir, 'base.qcow2');
    const overlay = join(dir, 'overlay.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', base, '16M']);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay]);
    const backed = await imageOf(overlay, 'qcow2');
    await assert.rejects(transfer.copyImageToVolume(backend, { volumeId, imageId: backed.id, sizeGb: 1 }), refusal(/backed by/));

    const big = join(dir, 'big.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', big, '2G']);
    const large = await imageOf(big, 'qcow2');
    await assert.rejects(
      transfer.copyImageToVolume(backend, { volumeId, imageId: large.id, sizeGb: 1 }),
      refusal(/Image virtual size is 2GB and doesn't fit in a volume of size 1GB\./),
    );

    const queued = await client.createImage(member, { name: 'empty', disk_format: 'qcow2', container_format: 'bare' });
    await assert.rejects(transfer.copyImageToVolume(backend, { volumeId, imageId: queued.id, sizeGb: 1 }), refusal(/is not active/));
    await assert.rejects(transfer.copyImageToVolume(backend, { volumeId, imageId: randomUUID(), sizeGb: 1 }), refusal(/404/));

    assert.equal((await backend.inspectVolume(volumeId)).exists, false, 'nothing was written');
    assert.deepEqual(readdirSync(conversion), []);
  });

  test('preflight: qcow2 with a backing or data file and VMDKs that name other files are refused before qemu-img opens them', async () => {
    const refused = (re: RegExp) => (err: unknown) => err instanceof VolumeBackendError && err.code === 'invalid' && re.test(err.message);
    const plain = join(dir, 'plain.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', plain, '1M']);
    await preflightImageFile('i', plain);
    const withData = join(dir, 'with-data.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'data.raw')},data_file_raw=on`, withData, '1M']);
    await assert.rejects(preflightImageFile('i', withData), refused(/not allowed to have a data file/));
    const overlay = join(dir, 'pre-overlay.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', plain, '-F', 'qcow2', overlay]);
    await assert.rejects(preflightImageFile('i', overlay), refused(/backed by/));
    const flat = join(dir, 'flat.vmdk');
    await run('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', flat, '1M']);
    await assert.rejects(preflightImageFile('i', flat), refused(/Invalid VMDK create-type/));
    const sparse = join(dir, 'sparse.vmdk');
    await run('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicSparse', sparse, '1M']);
    await preflightImageFile('i', sparse);
    await assert.rejects(preflightImageFile('i', sparse, ['streamOptimized']), refused(/Invalid VMDK create-type/));
    const raw = join(dir, 'plain.raw');
    await run('qemu-img', ['create', '-q', '-f', 'raw', raw, '1M']);
    await preflightImageFile('i', raw);
  });

  test('checkImageFile: a qcow2 data-file and VMDK create-types that point at other files are refused', () => {
    const image = { id: 'i1', disk_format: 'qcow2' };
    const ok = { format: 'qcow2', 'virtual-size': 1024, 'format-specific': { type: 'qcow2', data: {} } };
    assert.equal(checkImageFile(image, ok, 1), 'qcow2');
    assert.throws(() => checkImageFile(image, { ...ok, 'format-specific': { type: 'qcow2', data: { 'data-file': '/etc/shadow' } } }, 1), /not allowed to have a data file/);
    assert.throws(() => checkImageFile(image, { format: 'qcow2', 'virtual-size': 1024 }, 1), /Cannot determine format-specific information/);
    const vmdk = { id: 'i2', disk_format: 'vmdk' };
    assert.equal(checkImageFile(vmdk, { format: 'vmdk', 'virtual-size': 1024, 'format-specific': { data: { 'create-type': 'streamOptimized' } } }, 1), 'vmdk');
    assert.throws(() => checkImageFile(vmdk, { format: 'vmdk', 'virtual-size': 1024, 'format-specific': { data: { 'create-type': 'monolithicFlat' } } }, 1), /Invalid VMDK create-type/);
    assert.equal(checkImageFile({ id: 'i3', disk_format: 'vhd' }, { format: 'vpc', 'virtual-size': 1024 }, 1), 'vpc');
    assert.throws(() => checkImageFile({ id: 'i4', disk_format: 'raw' }, { format: 'raw', 'virtual-size': 3 * 1024 ** 3 }, 5, { maxImageGb: 2 }), /image_conversion_max_gb/);
  });
});
