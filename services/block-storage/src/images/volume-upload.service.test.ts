// os-volume_upload_image through the action handler, with SQLite, Cinder's policies, the in-process bus and a real image API: the image as Glance gets it, the volume's state and task_args, the cast to the worker, and the refusals (status, policy, Glance's own).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createBus, type Bus } from '@alto/bus';
import { migrateToLatest, type Database } from '@alto/db';
import { scratchDatabase, type ScratchDatabase } from '@alto/db/testing';
import { parseMicroversion } from '@alto/http';
import { AltoError, ForbiddenError, policyCredentials, systemClock, type RequestContext } from '@alto/kernel';
import { Enforcer } from '@alto/policy';
import { createLogger } from '@alto/runtime';
import { imageActions } from '../api/volume-image-actions.js';
import type { Authorizer, BlockStorageCoreDeps } from '../domain/deps.js';
import { PolicyNotAuthorized } from '../domain/errors.js';
import { QuotaEngine } from '../domain/quotas.js';
import { VolumesService } from '../domain/volumes.service.js';
import { blockStoragePolicies } from '../policies.js';
import { blockStorageMigrations } from '../store/migrations/index.js';
import type { BlockStorageDB, VolumeTable } from '../store/schema.js';
import { selectTypeByName } from '../store/type.repo.js';
import { insertVolume, selectVolume, writeMetadata } from '../store/volume.repo.js';
import { volumeRow } from '../testing/volume-row.js';
import { VOLUME_TOPIC } from '../workers/topics.js';
import { GlanceClient, userToken } from './glance-client.js';
import { startTestGlance, type TestGlance } from './testing-glance.js';
import { UPLOAD_METHOD, VolumeUploadService } from './volume-upload.service.js';

const HOST = 'host1@file#file';

describe('os-volume_upload_image', () => {
  let glance: TestGlance;
  let client: GlanceClient;
  let scratch: ScratchDatabase;
  let database: Database<BlockStorageDB>;
  let bus: Bus;
  let core: BlockStorageCoreDeps;
  let volumes: VolumesService;
  let typeId: string;
  const casts: { method: string; volumeId: unknown }[] = [];
  const log = createLogger({ level: 'silent' });

  const ctx = (token: 'member' | 'other', roles = ['member', 'reader']): RequestContext => ({
    requestId: 'req-test',
    authToken: token,
    userId: `u-${token}`,
    projectId: token === 'member' ? 'p-a' : 'p-b',
    roles,
    serviceRoles: [],
    isAdminProject: false,
  });
  const req = (version: string) => ({ microversion: parseMicroversion(version) }) as unknown as FastifyRequest;
  const reply = {} as FastifyReply;

  /** The action as the dispatcher runs it (the dispatcher checks its policy first). */
  const upload = (service: VolumeUploadService, volumeId: string, body: unknown, version = '3.0', who: RequestContext = ctx('member')) => {
    const spec = imageActions({ services: { volumeUploads: service } })['os-volume_upload_image']!;
    return spec.handler({ volumeId, body, req: req(version), reply }, who) as Promise<{ 'os-volume_upload_image': Record<string, unknown> }>;
  };
  const volume = async (over: Partial<VolumeTable> = {}) => {
    const row = volumeRow({ project_id: 'p-a', user_id: 'u-member', host: HOST, status: 'available', volume_type_id: typeId, updated_at: 1_700_000_000_000, description: 'd', ...over });
    await insertVolume(database.db, row);
    return row;
  };
  const badRequest = (message: string | RegExp) => (err: unknown) => {
    assert.ok(err instanceof AltoError && err.kind === 'bad_request', String(err));
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  };

  before(async () => {
    glance = await startTestGlance();
    client = new GlanceClient({ endpoint: glance.url });
    scratch = await scratchDatabase('sqlite');
    database = scratch.open<BlockStorageDB>();
    await migrateToLatest(database, blockStorageMigrations);
    typeId = (await selectTypeByName(database.db, '__DEFAULT__'))!.id;
    bus = await createBus({ transportUrl: 'inprocess://' }, { logger: log, clock: systemClock });
    await bus.serve({ topic: VOLUME_TOPIC, server: HOST }, {
      [UPLOAD_METHOD]: async (args) => {
        casts.push({ method: UPLOAD_METHOD, volumeId: args.volume_id });
        return null;
      },
    });
    const enforcer = new Enforcer(blockStoragePolicies, { enforceScope: true, enforceNewDefaults: true });
    const allowed = (rule: string, c: RequestContext, target?: Record<string, unknown>) => {
      try {
        enforcer.enforce(rule, target ?? { project_id: c.projectId ?? null, user_id: c.userId ?? null }, { ...policyCredentials(c), is_admin: c.roles.includes('admin') });
        return true;
      } catch (err) {
        if (err instanceof ForbiddenError) return false;
        throw err;
      }
    };
    const authz: Authorizer = {
      check: allowed,
      enforce: (rule, c, t) => {
        if (!allowed(rule, c, t)) throw PolicyNotAuthorized(rule);
      },
    };
    core = {
      db: database.db,
      bus,
      clock: systemClock,
      log,
      authz,
      config: { osapiMaxLimit: 1000, defaultVolumeType: '__DEFAULT__', storageAvailabilityZone: 'nova', quotaDefaults: {}, messageTtlSeconds: 60, serviceDownSeconds: 60 },
    };
    volumes = new VolumesService(core, new QuotaEngine({ db: database.db, defaults: {}, nowMs: () => Date.now() }));
  });
  after(async () => {
    await bus?.close();
    await database?.close();
    await scratch?.drop();
    await glance?.close();
  });

  test('creates the image as the caller with the volume image properties Cinder copies, marks the volume uploading and tells its worker', async () => {
    const service = new VolumeUploadService(core, volumes, client);
    const row = await volume();
    await writeMetadata(database.db, 'volume_image_metadata', row.id, { image_id: 'old', image_name: 'old', checksum: 'x', os_distro: 'debian', hw_disk_bus: 'scsi', os_glance_importing_to_stores: 'file', img_signature: 's' }, true);
    const answer = (await upload(service, row.id, { 'os-volume_upload_image': { image_name: 'snap-img', disk_format: 'qcow2' } }))['os-volume_upload_image'];
    const imageId = answer.image_id as string;
    assert.deepEqual(answer, {
      id: row.id,
      updated_at: '2023-11-14T22:13:20.000000',
      status: 'uploading',
      display_description: 'd',
      size: 1,
      volume_type: answer.volume_type,
      image_id: imageId,
      container_format: 'bare',
      disk_format: 'qcow2',
      image_name: 'snap-img',
      protected: false,
      visibility: 'shared',
    });
    assert.equal((answer.volume_type as { name: string }).name, '__DEFAULT__');
    assert.deepEqual(Object.keys(answer.volume_type as object).sort(), ['created_at', 'deleted', 'deleted_at', 'description', 'extra_specs', 'id', 'is_public', 'name', 'qos_specs_id', 'updated_at']);

    const image = await client.getImage(userToken('member'), imageId);
    assert.equal(image.status, 'queued');
    assert.equal(image.owner, 'p-a');
    assert.equal(image.os_distro, 'debian');
    assert.equal(image.hw_disk_bus, 'scsi');
    for (const k of ['image_id', 'image_name', 'os_glance_importing_to_stores', 'img_signature']) assert.equal(image[k], undefined, `${k} is not copied`);

    const after = (await selectVolume(database.db, row.id))!;
    assert.equal(after.status, 'uploading');
    assert.equal(after.previous_status, 'available');
    assert.deepEqual(JSON.parse(after.task_args!), { image_id: imageId, disk_format: 'qcow2' });
    assert.equal(after.task_owner, null, 'the API let go of the task for the worker');
    for (let i = 0; i < 100 && !casts.some((c) => c.volumeId === row.id); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(casts.find((c) => c.volumeId === row.id), { method: UPLOAD_METHOD, volumeId: row.id });
  });

  test('3.1 takes visibility and protected; public needs upload_public (admin)', async () => {
    const service = new VolumeUploadService(core, volumes, client);
    const row = await volume();
    const answer = (await upload(service, row.id, { 'os-volume_upload_image': { image_name: 'p', visibility: 'community', protected: 'true' } }, '3.1'))['os-volume_upload_image'];
    assert.equal(answer.visibility, 'community');
    assert.equal(answer.protected, true);
    assert.equal(answer.disk_format, 'raw');
    const other = await volume();
    await assert.rejects(upload(service, other.id, { 'os-volume_upload_image': { image_name: 'p', visibility: 'public' } }, '3.1'), (err) => {
      assert.ok(err instanceof AltoError && err.kind === 'forbidden');
      assert.equal(err.message, "Policy doesn't allow volume_extension:volume_actions:upload_public to be performed.");
      return true;
    });
    assert.equal((await selectVolume(database.db, other.id))!.status, 'available');
    await assert.rejects(
      upload(service, other.id, { 'os-volume_upload_image': { image_name: 'p', visibility: 'public' } }, '3.0'),
      badRequest("Invalid input for field/attribute os-volume_upload_image. Value: {'image_name': 'p', 'visibility': 'public'}. Additional properties are not allowed ('visibility' was unexpected)"),
    );
  });

  test('bodies are checked with Cinder schema', async () => {
    const service = new VolumeUploadService(core, volumes, client);
    const row = await volume();
    await assert.rejects(upload(service, row.id, { 'os-volume_upload_image': {} }), badRequest(/'image_name' is a required property/));
    await assert.rejects(upload(service, row.id, { 'os-volume_upload_image': { image_name: 'x', disk_format: 'iso' } }), badRequest(/'iso' is not one of \['raw', 'vmdk', 'vdi', 'qcow2', 'vhd', 'vhdx', 'ploop'\]/));
    await assert.rejects(upload(service, row.id, { 'os-volume_upload_image': { image_name: 'x', force: 'maybe' } }), badRequest(/force/));
  });

  test('an in-use volume needs force and enable_force_upload; other statuses are refused', async () => {
    const strict = new VolumeUploadService(core, volumes, client);
    const inUse = await volume({ status: 'in-use', attach_status: 'attached' });
    await assert.rejects(upload(strict, inUse.id, { 'os-volume_upload_image': { image_name: 'x', force: true } }), badRequest(`Invalid volume: Volume ${inUse.id} status must be available`));
    const lenient = new VolumeUploadService(core, volumes, client, { enableForceUpload: true });
    await assert.rejects(upload(lenient, inUse.id, { 'os-volume_upload_image': { image_name: 'x' } }), badRequest(`Invalid volume: Volume ${inUse.id} status must be available`));
    await upload(lenient, inUse.id, { 'os-volume_upload_image': { image_name: 'x', force: 'True' } });
    assert.equal((await selectVolume(database.db, inUse.id))!.previous_status, 'in-use');
    const creating = await volume({ status: 'creating' });
    await assert.rejects(upload(lenient, creating.id, { 'os-volume_upload_image': { image_name: 'x', force: true } }), badRequest(`Invalid volume: Volume ${creating.id} status must be available or in-use`));
    await assert.rejects(upload(strict, creating.id, { 'os-volume_upload_image': { image_name: 'x' } }, '3.0', ctx('other')), (err) => err instanceof AltoError && err.kind === 'not_found');
  });

  test("Glance's refusal is a 400 with its words and the volume goes back to its status", async () => {
    const service = new VolumeUploadService(core, volumes, client);
    const row = await volume();
    // a volume image property that is a read-only Glance attribute: Cinder sends it, Glance refuses
    await writeMetadata(database.db, 'volume_image_metadata', row.id, { status: 'active' }, true);
    await assert.rejects(upload(service, row.id, { 'os-volume_upload_image': { image_name: 'x' } }), badRequest(/^HTTP 403 Forbidden: .*status/));
    const after = (await selectVolume(database.db, row.id))!;
    assert.equal(after.status, 'available');
    assert.equal(after.previous_status, null);
    assert.equal(after.task_owner, null);
  });
});
