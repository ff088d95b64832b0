// Image members: an owner offers a shared image to other projects, which accept or reject it.
import type { RequestContext } from '@alto/kernel';
import type { ImageCoreDeps } from './deps.js';
import type { Image, ImageMember, MemberStatus } from './models.js';
import { Conflict, Forbidden, MemberNotFound, TooLarge } from './errors.js';
import type { ImagesService } from './images.service.js';
import { countMembers, deleteMember, insertMember, selectMember, selectMembers, updateMemberStatus } from '../store/member.repo.js';
import { updateImageRow, wholeSeconds } from '../store/image.repo.js';

export class MembersService {
  private readonly d: ImageCoreDeps;
  private readonly images: ImagesService;
  constructor(d: ImageCoreDeps, images: ImagesService) {
    this.d = d;
    this.images = images;
  }

  private onlyShared(image: Image): void {
    if (image.visibility !== 'shared') throw Forbidden('Only shared images have members.', 'image.not_shared');
  }

  /** The owner (or an admin) sees every member; a member sees only itself (Glance's member repo). */
  async list(ctx: RequestContext, image: Image): Promise<ImageMember[]> {
    this.onlyShared(image);
    const all = await selectMembers(this.d.db, image.id);
    if (this.images.isAdmin(ctx) || image.owner === ctx.projectId) return all;
    return all.filter((m) => m.memberId === ctx.projectId);
  }

  async get(ctx: RequestContext, image: Image, memberId: string): Promise<ImageMember> {
    this.onlyShared(image);
    const visible = this.images.isAdmin(ctx) || image.owner === ctx.projectId || memberId === ctx.projectId;
    const m = visible ? await selectMember(this.d.db, image.id, memberId) : undefined;
    if (!m) throw MemberNotFound(image.id, memberId);
    return m;
  }

  async add(_ctx: RequestContext, image: Image, memberId: string): Promise<ImageMember> {
    this.onlyShared(image);
    if (await selectMember(this.d.db, image.id, memberId)) {
      throw Conflict(`Member ${memberId} is duplicated for image ${image.id}`, 'image.member_duplicate');
    }
    const quota = this.d.config.imageMemberQuota;
    const count = await countMembers(this.d.db, image.id);
    if (quota >= 0 && count + 1 > quota) throw TooLarge(`Image member limit exceeded for image ${image.id}: Attempted: ${count + 1}, Maximum: ${quota}:`);
    const now = this.now();
    const member: ImageMember = { imageId: image.id, memberId, status: 'pending', createdAt: now, updatedAt: now };
    try {
      // the image row first: its lock queues concurrent adds (MariaDB deadlocks when two
      // transactions hold the foreign key's shared lock on it and both want to update it)
      await this.d.db.transaction().execute(async (trx) => {
        await updateImageRow(trx, image.id, { updated_at: now.getTime() });
        await insertMember(trx, member);
      });
    } catch (err) {
      if (await selectMember(this.d.db, image.id, memberId)) throw Conflict(`Member ${memberId} is duplicated for image ${image.id}`, 'image.member_duplicate');
      throw err;
    }
    return member;
  }

  async updateStatus(ctx: RequestContext, image: Image, memberId: string, status: MemberStatus): Promise<ImageMember> {
    const m = await this.get(ctx, image, memberId);
    const now = this.now();
    await updateMemberStatus(this.d.db, image.id, memberId, status, now.getTime());
    return { ...m, status, updatedAt: now };
  }

  async remove(ctx: RequestContext, image: Image, memberId: string): Promise<void> {
    await this.get(ctx, image, memberId);
    await deleteMember(this.d.db, image.id, memberId);
  }

  private now(): Date {
    return new Date(wholeSeconds(this.d.clock.nowMs()));
  }
}

