// Domain-specific configuration options (/v3/domains/{id}/config), whitelisted and sensitive alike.
import type { Db } from './rows.js';

export interface ConfigOption {
  group: string;
  option: string;
  value: unknown;
  sensitive: boolean;
}

export async function selectConfigOptions(db: Db, domainId: string, f: { group?: string | undefined; option?: string | undefined; sensitive?: boolean } = {}): Promise<ConfigOption[]> {
  let q = db.selectFrom('domain_config').selectAll().where('domain_id', '=', domainId);
  if (f.group !== undefined) q = q.where('group', '=', f.group);
  if (f.option !== undefined) q = q.where('option', '=', f.option);
  if (f.sensitive !== undefined) q = q.where('sensitive', '=', f.sensitive ? 1 : 0);
  const rows = await q.orderBy('group').orderBy('option').execute();
  return rows.map((r) => ({ group: r.group, option: r.option, value: JSON.parse(r.value) as unknown, sensitive: r.sensitive === 1 }));
}

export async function deleteConfigOptions(db: Db, domainId: string, f: { group?: string | undefined; option?: string | undefined } = {}): Promise<void> {
  let q = db.deleteFrom('domain_config').where('domain_id', '=', domainId);
  if (f.group !== undefined) q = q.where('group', '=', f.group);
  if (f.option !== undefined) q = q.where('option', '=', f.option);
  await q.execute();
}

/** Writes options, replacing any stored under the same group and name. */
export async function upsertConfigOptions(db: Db, domainId: string, options: ConfigOption[]): Promise<void> {
  for (const o of options) {
    await deleteConfigOptions(db, domainId, { group: o.group, option: o.option });
    await db
      .insertInto('domain_config')
      .values({ domain_id: domainId, group: o.group, option: o.option, value: JSON.stringify(o.value), sensitive: o.sensitive ? 1 : 0 })
      .execute();
  }
}
