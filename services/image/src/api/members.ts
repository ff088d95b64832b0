// /v2/images/{id}/members: offering a shared image to other projects, and their answers.
import Type from 'typebox';
import { NotFoundError, type RequestContext } from '@alto/kernel';
import { defineRoute, RawBody, type AnyRoute } from '@alto/http';
import { BadRequest } from '../domain/errors.js';
import { imageTarget, imageTargetOf, type ImageFrame } from './common.js';
import { memberView } from './views.js';

const ImageId = Type.Object({ image_id: Type.String() });
const MemberPath = Type.Object({ image_id: Type.String(), member_id: Type.String() });

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body instanceof RawBody || typeof body !== 'object' || body === null || Array.isArray(body)) throw BadRequest('Body expected in request.');
  return body as Record<string, unknown>;
}

export function memberRoutes(frame: ImageFrame): AnyRoute[] {
  const s = frame.services;
  const target = (input: { params: { image_id: string } }, ctx: RequestContext) => imageTargetOf(frame, ctx, input.params.image_id);
  // Glance looks the membership up (as the caller sees members: all for the owner and admin, only
  // its own for a member) before it asks modify_member or delete_member, so a membership the
  // caller cannot see is 404 before the rule's 403; and its show turns whatever stops it into 404,
  // "Only shared images have members." included (ImageMembersController.show, update, delete).
  const memberTarget = (show: boolean) => async (input: { params: { image_id: string; member_id: string } }, ctx: RequestContext) => {
    const image = await s.images.getImageOrThrow(ctx, input.params.image_id);
    if (show && image.visibility !== 'shared') throw new NotFoundError('Only shared images have members.', 'image.not_shared');
    await s.members.get(ctx, image, input.params.member_id);
    return imageTarget(ctx, image);
  };
  return [
    defineRoute({
      method: 'GET',
      url: '/v2/images/:image_id/members',
      params: ImageId,
      policy: 'get_members',
      target,
      errors: [403, 404],
      handler: async ({ params }, ctx) => {
        const image = await s.images.getImageOrThrow(ctx, params.image_id);
        return { members: (await s.members.list(ctx, image)).map(memberView), schema: '/v2/schemas/members' };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v2/images/:image_id/members',
      params: ImageId,
      policy: 'add_member',
      target,
      errors: [403, 404, 409, 413],
      handler: async ({ params, body }, ctx) => {
        const b = objectBody(body);
        if (!('member' in b)) throw BadRequest('Member to be added not specified');
        if (!b.member) throw BadRequest("Member can't be empty");
        if (typeof b.member !== 'string') throw BadRequest('Member to be added not specified');
        const image = await s.images.getImageOrThrow(ctx, params.image_id);
        return memberView(await s.members.add(ctx, image, b.member));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v2/images/:image_id/members/:member_id',
      params: MemberPath,
      policy: 'get_member',
      target: memberTarget(true),
      errors: [403, 404],
      handler: async ({ params }, ctx) => {
        const image = await s.images.getImageOrThrow(ctx, params.image_id);
        return memberView(await s.members.get(ctx, image, params.member_id));
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v2/images/:image_id/members/:member_id',
      params: MemberPath,
      policy: 'modify_member',
      target: memberTarget(false),
      errors: [403, 404],
      handler: async ({ params, body }, ctx) => {
        const b = objectBody(body);
        if (!('status' in b)) throw BadRequest('Status not specified');
        const status = b.status;
        if (status !== 'pending' && status !== 'accepted' && status !== 'rejected') {
          throw BadRequest(`Incorrect request: Status must be "pending", "accepted" or "rejected".`);
        }
        const image = await s.images.getImageOrThrow(ctx, params.image_id);
        return memberView(await s.members.updateStatus(ctx, image, params.member_id, status));
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v2/images/:image_id/members/:member_id',
      params: MemberPath,
      policy: 'delete_member',
      target: memberTarget(false),
      status: 204,
      errors: [403, 404],
      handler: async ({ params }, ctx) => {
        const image = await s.images.getImageOrThrow(ctx, params.image_id);
        await s.members.remove(ctx, image, params.member_id);
        return undefined;
      },
    }),
  ];
}
