// The create-from-image checks against a real image API: references by id, URL and name, images the caller cannot see, and Cinder's size, min_disk and status refusals in its words.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { AltoError } from '@alto/kernel';
import { GlanceClient, userToken, type GlanceImage } from './glance-client.js';
import { checkImageForVolume, checkImageMetadata } from './image-checks.js';
import { run, startTestGlance, type TestGlance } from './testing-glance.js';

describe('checkImageForVolume', () => {
  let glance: TestGlance;
  let client: GlanceClient;
  let dir: string;
  const member = userToken('member');
  const other = userToken('other');
  let small: GlanceImage;
  let big: GlanceImage;

  const fails = (status: number, message: string) => (err: unknown) => {
    assert.ok(err instanceof AltoError, String(err));
    assert.equal(err.message, message);
    assert.equal({ bad_request: 400, conflict: 409, service_unavailable: 503 }[err.kind as string], status);
    return true;
  };

  before(async () => {
    glance = await startTestGlance();
    client = new GlanceClient({ endpoint: glance.url });
    dir = mkdtempSync(join(tmpdir(), 'alto-bs-checks-'));
    const make = async (name: string, size: string, extra: Record<string, unknown> = {}) => {
      const file = join(dir, `${name}.qcow2`);
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', file, size]);
      const image = await client.createImage(member, { name, disk_format: 'qcow2', container_format: 'bare', ...extra });
      await client.uploadFile(member, image.id, file);
      return client.getImage(member, image.id);
    };
    small = await make('small', '64M', { min_disk: 2, visibility: 'private' });
    big = await make('big', '3G');
    await make('twin', '1M');
    await make('twin', '1M');
  });
  after(async () => {
    await glance?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an image by id, by a URL ending in its id, and by its unique name', async () => {
    assert.equal((await checkImageForVolume(client, member, small.id, 2)).id, small.id);
    assert.equal((await checkImageForVolume(client, member, `http://glance.example/v2/images/${small.id}`, 2)).id, small.id);
    assert.equal((await checkImageForVolume(client, member, 'small', 2)).id, small.id);
  });

  test("unknown images and another project's private images are 400, an ambiguous name 409", async () => {
    const invalid = fails(400, 'Invalid image identifier or unable to access requested image.');
    await assert.rejects(checkImageForVolume(client, member, randomUUID(), 1), invalid);
    await assert.rejects(checkImageForVolume(client, other, small.id, 2), invalid);
    await assert.rejects(checkImageForVolume(client, other, 'small', 2), invalid);
    await assert.rejects(checkImageForVolume(client, member, 'twin', 1), fails(409, "Multiple matches found for 'twin', use an ID to be more specific."));
  });

  test("min_disk, the virtual size and a queued image are refused in Cinder's words", async () => {
    await assert.rejects(checkImageForVolume(client, member, small.id, 1), fails(400, 'Invalid input received: Volume size 1GB cannot be smaller than the image minDisk size 2GB.'));
    await assert.rejects(
      checkImageForVolume(client, member, big.id, 2),
      fails(400, `Image ${big.id} is unacceptable: Image virtual size is 3GB and doesn't fit in a volume of size 2GB.`),
    );
    assert.equal((await checkImageForVolume(client, member, big.id, 3)).id, big.id);
    const queued = await client.createImage(member, { name: 'queued', disk_format: 'raw', container_format: 'bare' });
    await assert.rejects(checkImageForVolume(client, member, queued.id, 1), fails(400, `Invalid input received: Image ${queued.id} is not active.`));
  });

  test('image data larger than the volume (in whole GiB, rounded up)', () => {
    const image = { ...small, size: 2 * 1024 ** 3 + 1, virtual_size: null, min_disk: 0 };
    assert.throws(() => checkImageMetadata(image, 2), fails(400, 'Invalid input received: Size of specified image 3GB is larger than volume size 2GB.'));
    assert.doesNotThrow(() => checkImageMetadata(image, 3));
  });

  test('an image service that cannot be reached is a 503, not the caller’s mistake', async () => {
    const down = new GlanceClient({ endpoint: 'http://127.0.0.1:9', timeoutMs: 2000 });
    await assert.rejects(checkImageForVolume(down, member, small.id, 2), (err) => err instanceof AltoError && err.kind === 'service_unavailable');
  });
});
