// GET /limits: a project's absolute limits and, for readers of it, what it uses (Cinder's v3
// limits controller with the used_limits extension); rate limits are always empty.
import Type from 'typebox';
import { defineRoute, type AnyRoute } from '@alto/http';
import { isAdmin } from '../domain/deps.js';
import { atLeast, q1, type BlockStorageFrame, type RawQuery } from './common.js';

const Query = Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]));

/** Absolute limit names by quota resource (api/views/limits.py). */
const MAX_NAMES: ReadonlyArray<[string, string]> = [
  ['volumes', 'maxTotalVolumes'],
  ['snapshots', 'maxTotalSnapshots'],
  ['gigabytes', 'maxTotalVolumeGigabytes'],
  ['backups', 'maxTotalBackups'],
  ['backup_gigabytes', 'maxTotalBackupGigabytes'],
];
/** Usage names by quota resource (contrib/used_limits.py). */
const USED_NAMES: ReadonlyArray<[string, string]> = [
  ['volumes', 'totalVolumesUsed'],
  ['gigabytes', 'totalGigabytesUsed'],
  ['snapshots', 'totalSnapshotsUsed'],
  ['backups', 'totalBackupsUsed'],
  ['backup_gigabytes', 'totalBackupGigabytesUsed'],
];

export function limitRoutes(frame: BlockStorageFrame): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/limits',
      query: Query,
      // Cinder guards only the usage part (limits_extension:used_limits, checked below)
      policy: null,
      errors: [],
      response: {
        200: Type.Object({ limits: Type.Object({ rate: Type.Array(Type.Unknown()), absolute: Type.Record(Type.String(), Type.Integer()) }) }),
      },
      handler: async ({ query, req }, ctx) => {
        const raw = query as RawQuery;
        // 3.39: an admin may ask for another project (project_id, or the older tenant_id)
        const other = atLeast(req, '3.39') && isAdmin(ctx) ? (q1(raw, 'project_id') ?? q1(raw, 'tenant_id')) : undefined;
        const projectId = other ?? ctx.projectId ?? '';
        const usage = await frame.services.quotas.projectQuotaUsage(projectId);
        const absolute: Record<string, number> = {};
        for (const [resource, name] of MAX_NAMES) if (usage[resource]) absolute[name] = usage[resource].limit;
        if (frame.services.authz.check('limits_extension:used_limits', ctx)) {
          for (const [resource, name] of USED_NAMES) if (usage[resource]) absolute[name] = usage[resource].in_use;
        }
        return { limits: { rate: [], absolute } };
      },
    }),
  ];
}
