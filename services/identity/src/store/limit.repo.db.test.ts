// Unified limits' natural keys on SQLite, PostgreSQL and MariaDB: one registered limit per
// service, region (or none) and resource; one limit per project or domain and registered limit.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError } from '@alto/kernel';
import { testEngines } from '@alto/db/testing';
import { startIdentity, type Harness } from '../testing/harness.js';
import { selectLimits, selectRegisteredLimits } from './limit.repo.js';

for (const engine of testEngines()) {
  describe(`unified limits on ${engine.dialect}`, { skip: engine.unavailable }, () => {
    let h: Harness;
    let serviceId: string;
    let projectId: string;
    before(async () => {
      h = await startIdentity({ dialect: engine.dialect });
      const s = h.identity.services;
      serviceId = (await s.catalog.listServices({ type: 'identity' }))[0]!.id;
      await s.catalog.createRegion({ id: 'RegionTwo' }, undefined);
      projectId = (await s.resources.listProjects({ name: 'admin' }))[0]!.id;
    });
    after(() => h.close());

    const conflict = (type: string) => (err: unknown) => err instanceof ConflictError && err.message === `Conflict occurred attempting to store ${type} - Duplicate entry.`;

    test('registered limits: unique per service, region and resource; no region is a region of its own', async () => {
      const limits = h.identity.services.limits;
      const rl = (regionId: string | null, resourceName = 'cores') => ({ serviceId, regionId, resourceName, defaultLimit: 10 });
      await limits.createRegisteredLimits([rl('RegionOne'), rl('RegionTwo'), rl(null), rl('RegionOne', 'ram')]);
      await assert.rejects(limits.createRegisteredLimits([rl('RegionOne')]), conflict('registered_limit'));
      await assert.rejects(limits.createRegisteredLimits([rl(null)]), conflict('registered_limit'));
      // a duplicate within one request refuses the whole request
      await assert.rejects(limits.createRegisteredLimits([rl(null, 'disk'), rl(null, 'disk')]), conflict('registered_limit'));
      assert.deepEqual(await selectRegisteredLimits(h.database.db, { resourceName: 'disk' }), []);
      // moving one onto another's key is refused too
      const [ram] = await selectRegisteredLimits(h.database.db, { resourceName: 'ram' });
      await assert.rejects(limits.updateRegisteredLimit(ram!.id, { resourceName: 'cores' }), conflict('registered_limit'));
      assert.equal((await selectRegisteredLimits(h.database.db, { regionId: null })).length, 1);
      assert.equal((await selectRegisteredLimits(h.database.db, { regionId: 'RegionOne' })).length, 2);
    });

    test('limits: unique per project or domain and registered limit', async () => {
      const limits = h.identity.services.limits;
      const l = (owner: { projectId?: string; domainId?: string }, regionId?: string) => ({ ...owner, serviceId, regionId, resourceName: 'cores', resourceLimit: 5 });
      await limits.createLimits([l({ projectId }, 'RegionOne'), l({ projectId }, 'RegionTwo'), l({ projectId }), l({ domainId: 'default' }, 'RegionOne')]);
      await assert.rejects(limits.createLimits([l({ projectId }, 'RegionOne')]), conflict('limit'));
      await assert.rejects(limits.createLimits([l({ projectId })]), conflict('limit'));
      await assert.rejects(limits.createLimits([l({ domainId: 'default' }, 'RegionOne')]), conflict('limit'));
      const mine = await selectLimits(h.database.db, { projectId });
      assert.deepEqual(mine.map((x) => x.regionId).sort(), ['RegionOne', 'RegionTwo', null].sort());
      assert.equal((await selectLimits(h.database.db, { regionId: null })).length, 1);
    });
  });
}
