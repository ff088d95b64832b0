// Image members: the projects a shared image is offered to, and whether they took it.
import type { Selectable } from 'kysely';
import type { ImageMember, MemberStatus } from '../domain/models.js';
import type { ImageMemberTable } from './schema.js';
import type { Db } from './image.repo.js';

const toMember = (r: Selectable<ImageMemberTable>): ImageMember => ({
  imageId: r.image_id,
  memberId: r.member,
  status: r.status as MemberStatus,
  createdAt: new Date(Number(r.created_at)),
  updatedAt: new Date(Number(r.updated_at)),
});

export async function insertMember(db: Db, m: ImageMember): Promise<void> {
  await db
    .insertInto('image_member')
    .values({ image_id: m.imageId, member: m.memberId, status: m.status, created_at: m.createdAt.getTime(), updated_at: m.updatedAt.getTime() })
    .execute();
}

export async function selectMember(db: Db, imageId: string, memberId: string): Promise<ImageMember | undefined> {
  const r = await db.selectFrom('image_member').selectAll().where('image_id', '=', imageId).where('member', '=', memberId).executeTakeFirst();
  return r ? toMember(r) : undefined;
}

export async function selectMembers(db: Db, imageId: string): Promise<ImageMember[]> {
  const rows = await db.selectFrom('image_member').selectAll().where('image_id', '=', imageId).orderBy('created_at').orderBy('member').execute();
  return rows.map(toMember);
}

export async function countMembers(db: Db, imageId: string): Promise<number> {
  const r = await db.selectFrom('image_member').select((eb) => eb.fn.countAll<number>().as('n')).where('image_id', '=', imageId).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function updateMemberStatus(db: Db, imageId: string, memberId: string, status: MemberStatus, nowMs: number): Promise<void> {
  await db.updateTable('image_member').set({ status, updated_at: nowMs }).where('image_id', '=', imageId).where('member', '=', memberId).execute();
}

export async function deleteMember(db: Db, imageId: string, memberId: string): Promise<number> {
  const r = await db.deleteFrom('image_member').where('image_id', '=', imageId).where('member', '=', memberId).executeTakeFirst();
  return Number(r.numDeletedRows);
}
