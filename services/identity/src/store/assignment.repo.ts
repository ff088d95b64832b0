// Role assignments: who holds which role where (project, domain or system).
import type { Selectable } from 'kysely';
import type { AssignmentTable, AssignmentType } from './schema.js';
import { int, type Db } from './rows.js';

export type AssignmentRow = Selectable<AssignmentTable>;

export const SYSTEM_TARGET = 'system';

export async function insertAssignment(db: Db, a: AssignmentRow): Promise<void> {
  await db.insertInto('assignment').values(a).execute();
}

export async function deleteAssignment(db: Db, a: AssignmentRow): Promise<number> {
  const r = await db
    .deleteFrom('assignment')
    .where('type', '=', a.type)
    .where('actor_id', '=', a.actor_id)
    .where('target_id', '=', a.target_id)
    .where('role_id', '=', a.role_id)
    .where('inherited', '=', a.inherited)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function assignmentExists(db: Db, a: AssignmentRow): Promise<boolean> {
  const r = await db
    .selectFrom('assignment')
    .select('role_id')
    .where('type', '=', a.type)
    .where('actor_id', '=', a.actor_id)
    .where('target_id', '=', a.target_id)
    .where('role_id', '=', a.role_id)
    .where('inherited', '=', a.inherited)
    .executeTakeFirst();
  return r !== undefined;
}

export interface AssignmentFilter {
  types?: AssignmentType[];
  actorIds?: string[];
  targetIds?: string[];
  roleId?: string;
  inherited?: boolean;
}

export async function selectAssignments(db: Db, f: AssignmentFilter): Promise<AssignmentRow[]> {
  let q = db.selectFrom('assignment').selectAll();
  if (f.types) q = q.where('type', 'in', f.types);
  if (f.actorIds) {
    if (f.actorIds.length === 0) return [];
    q = q.where('actor_id', 'in', f.actorIds);
  }
  if (f.targetIds) {
    if (f.targetIds.length === 0) return [];
    q = q.where('target_id', 'in', f.targetIds);
  }
  if (f.roleId !== undefined) q = q.where('role_id', '=', f.roleId);
  if (f.inherited !== undefined) q = q.where('inherited', '=', int(f.inherited));
  return q.orderBy('type').orderBy('actor_id').orderBy('target_id').orderBy('role_id').execute();
}

export async function deleteAssignmentsOfActor(db: Db, actorId: string): Promise<void> {
  await db.deleteFrom('assignment').where('actor_id', '=', actorId).execute();
}

export async function deleteAssignmentsOnTarget(db: Db, targetId: string): Promise<void> {
  await db.deleteFrom('assignment').where('target_id', '=', targetId).execute();
}
