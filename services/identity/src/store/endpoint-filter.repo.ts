// OS-EP-FILTER: endpoint groups, and the endpoints and endpoint groups associated with projects.
import type { Selectable } from 'kysely';
import type { EndpointGroup, EndpointGroupFilters } from '../domain/catalog.models.js';
import type { EndpointGroupTable } from './schema.js';
import { parseJson, type Db } from './rows.js';

const rowToGroup = (r: Selectable<EndpointGroupTable>): EndpointGroup => ({
  id: r.id,
  name: r.name,
  description: r.description,
  filters: parseJson<EndpointGroupFilters>(r.filters, {}),
});

export async function insertEndpointGroup(db: Db, g: EndpointGroup): Promise<void> {
  await db.insertInto('endpoint_group').values({ id: g.id, name: g.name, description: g.description, filters: JSON.stringify(g.filters) }).execute();
}

export async function selectEndpointGroup(db: Db, id: string): Promise<EndpointGroup | undefined> {
  const r = await db.selectFrom('endpoint_group').selectAll().where('id', '=', id).executeTakeFirst();
  return r && rowToGroup(r);
}

export async function selectEndpointGroups(db: Db, f: { name?: string; ids?: string[] }): Promise<EndpointGroup[]> {
  let q = db.selectFrom('endpoint_group').selectAll();
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  if (f.ids !== undefined) {
    if (f.ids.length === 0) return [];
    q = q.where('id', 'in', f.ids);
  }
  return (await q.orderBy('name').orderBy('id').execute()).map(rowToGroup);
}

export async function updateEndpointGroupRow(db: Db, g: EndpointGroup): Promise<void> {
  await db.updateTable('endpoint_group').set({ name: g.name, description: g.description, filters: JSON.stringify(g.filters) }).where('id', '=', g.id).execute();
}

/** The group and its project associations. */
export async function deleteEndpointGroupRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('project_endpoint_group').where('endpoint_group_id', '=', id).execute();
  await db.deleteFrom('endpoint_group').where('id', '=', id).execute();
}

export async function insertProjectEndpointGroup(db: Db, groupId: string, projectId: string): Promise<void> {
  await db.insertInto('project_endpoint_group').values({ endpoint_group_id: groupId, project_id: projectId }).execute();
}

export async function projectEndpointGroupExists(db: Db, groupId: string, projectId: string): Promise<boolean> {
  const r = await db.selectFrom('project_endpoint_group').select('project_id').where('endpoint_group_id', '=', groupId).where('project_id', '=', projectId).executeTakeFirst();
  return r !== undefined;
}

export async function deleteProjectEndpointGroup(db: Db, groupId: string, projectId: string): Promise<number> {
  const r = await db.deleteFrom('project_endpoint_group').where('endpoint_group_id', '=', groupId).where('project_id', '=', projectId).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function selectGroupIdsOfProject(db: Db, projectId: string): Promise<string[]> {
  const rows = await db.selectFrom('project_endpoint_group').select('endpoint_group_id').where('project_id', '=', projectId).orderBy('endpoint_group_id').execute();
  return rows.map((r) => r.endpoint_group_id);
}

export async function selectProjectIdsOfGroup(db: Db, groupId: string): Promise<string[]> {
  const rows = await db.selectFrom('project_endpoint_group').select('project_id').where('endpoint_group_id', '=', groupId).orderBy('project_id').execute();
  return rows.map((r) => r.project_id);
}

export async function insertProjectEndpoint(db: Db, endpointId: string, projectId: string): Promise<void> {
  await db.insertInto('project_endpoint').values({ endpoint_id: endpointId, project_id: projectId }).execute();
}

export async function projectEndpointExists(db: Db, endpointId: string, projectId: string): Promise<boolean> {
  const r = await db.selectFrom('project_endpoint').select('project_id').where('endpoint_id', '=', endpointId).where('project_id', '=', projectId).executeTakeFirst();
  return r !== undefined;
}

export async function deleteProjectEndpoint(db: Db, endpointId: string, projectId: string): Promise<number> {
  const r = await db.deleteFrom('project_endpoint').where('endpoint_id', '=', endpointId).where('project_id', '=', projectId).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function selectEndpointIdsOfProject(db: Db, projectId: string): Promise<string[]> {
  const rows = await db.selectFrom('project_endpoint').select('endpoint_id').where('project_id', '=', projectId).orderBy('endpoint_id').execute();
  return rows.map((r) => r.endpoint_id);
}

export async function selectProjectIdsOfEndpoint(db: Db, endpointId: string): Promise<string[]> {
  const rows = await db.selectFrom('project_endpoint').select('project_id').where('endpoint_id', '=', endpointId).orderBy('project_id').execute();
  return rows.map((r) => r.project_id);
}

export async function deleteProjectEndpointsOfEndpoint(db: Db, endpointId: string): Promise<void> {
  await db.deleteFrom('project_endpoint').where('endpoint_id', '=', endpointId).execute();
}
