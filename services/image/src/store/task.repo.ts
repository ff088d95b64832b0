// Tasks: the record of an import (Glance's tasks table), shown by GET /v2/images/{id}/tasks.
import type { Selectable } from 'kysely';
import type { Task } from '../domain/models.js';
import type { TaskTable } from './schema.js';
import type { Db } from './image.repo.js';

const toTask = (r: Selectable<TaskTable>): Task => ({
  id: r.id,
  type: r.type,
  status: r.status as Task['status'],
  owner: r.owner,
  imageId: r.image_id,
  userId: r.user_id,
  requestId: r.request_id,
  input: JSON.parse(r.input) as Record<string, unknown>,
  result: r.result ? (JSON.parse(r.result) as Record<string, unknown>) : null,
  message: r.message,
  createdAt: new Date(Number(r.created_at)),
  updatedAt: new Date(Number(r.updated_at)),
  expiresAt: r.expires_at === null ? null : new Date(Number(r.expires_at)),
});

export async function insertTask(db: Db, t: Task): Promise<void> {
  await db
    .insertInto('task')
    .values({
      id: t.id,
      type: t.type,
      status: t.status,
      owner: t.owner,
      image_id: t.imageId,
      user_id: t.userId,
      request_id: t.requestId,
      input: JSON.stringify(t.input),
      result: t.result ? JSON.stringify(t.result) : null,
      message: t.message,
      created_at: t.createdAt.getTime(),
      updated_at: t.updatedAt.getTime(),
      expires_at: t.expiresAt?.getTime() ?? null,
    })
    .execute();
}

export async function selectTask(db: Db, id: string): Promise<Task | undefined> {
  const r = await db.selectFrom('task').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toTask(r) : undefined;
}

export async function selectTasksOfImage(db: Db, imageId: string): Promise<Task[]> {
  const rows = await db.selectFrom('task').selectAll().where('image_id', '=', imageId).orderBy('created_at', 'desc').orderBy('id').execute();
  return rows.map(toTask);
}

export async function finishTask(db: Db, id: string, status: 'success' | 'failure', message: string, result: Record<string, unknown> | null, nowMs: number, expiresMs: number): Promise<void> {
  await db
    .updateTable('task')
    .set({ status, message, result: result ? JSON.stringify(result) : null, updated_at: nowMs, expires_at: expiresMs })
    .where('id', '=', id)
    .execute();
}
