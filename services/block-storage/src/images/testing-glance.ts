// A real image API (services/image, SQLite, filesystem store) on a loopback port for the image tests, with fixed tokens: a cinder service user, two project members and a reader.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Value from 'typebox/value';
import { UnauthorizedError, systemClock } from '@alto/kernel';
import { migrateToLatest, openDatabase } from '@alto/db';
import type { TokenValidator } from '@alto/http';
import { createLogger, createMetricsRegistry } from '@alto/runtime';
import { createImage, FilesystemStore, ImageSection, imageMigrations, legacyLimits, type ImageConfig, type ImageDB } from '@alto/image';
import type { TokenSource } from './glance-client.js';

export const run = promisify(execFile);

interface Persona {
  userId: string;
  projectId: string;
  roles: string[];
}

/** Who each test token is. `svc` is Cinder's service user as `alto up` makes it (admin and service on the service project). */
export const PERSONAS: Record<string, Persona> = {
  svc: { userId: 'u-cinder', projectId: 'p-service', roles: ['admin', 'service', 'member', 'reader'] },
  member: { userId: 'u-member', projectId: 'p-a', roles: ['member', 'reader'] },
  other: { userId: 'u-other', projectId: 'p-b', roles: ['member', 'reader'] },
};

export interface TestGlance {
  url: string;
  /** The service token source: hands out a token the image API refuses until asked fresh (renewal on 401). */
  serviceTokens: TokenSource & { fresh: number };
  close(): Promise<void>;
}

export async function startTestGlance(): Promise<TestGlance> {
  const dir = mkdtempSync(join(tmpdir(), 'alto-bs-glance-'));
  const config = Value.Default(ImageSection, {}) as ImageConfig;
  // the refusals of mismatched data are the volume side's to prove, so Glance takes any data (Zed's default)
  config.image_format.require_image_format_match = false;
  const database = openDatabase<ImageDB>({ connection: `sqlite:///${join(dir, 'image.db')}`, sqlite_synchronous: 'normal' });
  await migrateToLatest(database, imageMigrations);
  const file = new FilesystemStore({ id: 'file', datadir: join(dir, 'images'), chunkSize: 65536 });
  const staging = new FilesystemStore({ id: 'os_glance_staging_store', datadir: join(dir, 'staging'), chunkSize: 65536 });
  await file.open();
  await staging.open();
  const validator: TokenValidator = {
    validate: async (token) => {
      const p = PERSONAS[token];
      if (!p) throw new UnauthorizedError('The request you have made requires authentication.', 'auth.invalid_token');
      return { authToken: token, userId: p.userId, userDomainId: 'default', projectId: p.projectId, projectDomainId: 'default', roles: p.roles, isAdminProject: true, serviceRoles: [] };
    },
  };
  const api = await createImage({
    config,
    database,
    stores: { defaultId: 'file', byId: new Map([['file', file]]), staging, multiStore: false, descriptions: new Map() },
    validator,
    limits: legacyLimits({}),
    clock: systemClock,
    log: createLogger({ level: process.env.ALTO_TEST_LOG ?? 'silent' }),
    metrics: createMetricsRegistry('bs-glance-test'),
  });
  const url = await api.app.listen({ host: '127.0.0.1', port: 0 });
  const serviceTokens = {
    fresh: 0,
    renewable: true,
    async token(fresh = false) {
      if (fresh) serviceTokens.fresh++;
      return serviceTokens.fresh > 0 ? 'svc' : 'svc-expired';
    },
  };
  return {
    url,
    serviceTokens,
    close: async () => {
      await api.app.close();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A qcow2 of `size` with a recognisable pattern written at a few offsets (qemu-io, from qemu-utils). */
export async function patternedQcow2(path: string, size: string): Promise<void> {
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', path, size]);
  await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 1M', '-c', 'write -P 0x5c 3M 64k', path]);
}

/** Whether two images hold the same guest-visible bytes (qemu-img compare; a larger one must be zeros beyond). */
export async function sameContents(a: string, aFormat: string, b: string, bFormat: string): Promise<boolean> {
  try {
    await run('qemu-img', ['compare', '-q', '-f', aFormat, '-F', bFormat, a, b]);
    return true;
  } catch {
    return false;
  }
}
