// OS-OAUTH1 delegation: consumers, request tokens a user authorizes with some of their roles on a
// project, and the access tokens a consumer trades them for (keystone/oauth1).
import { randomInt } from 'node:crypto';
import { NotFoundError, newHexId } from '@alto/kernel';
import type { Extra, Role } from './models.js';
import { AuthFailed, BadRequest, ExpectingToFind, RoleNotFound } from './errors.js';
import type { Caller, CoreDeps } from './deps.js';
import type { ResourceService } from './resource.service.js';
import type { RolesService } from './roles.service.js';
import {
  authorizeRequestTokenRow,
  deleteAccessTokenRow,
  deleteConsumerRow,
  exchangeRequestToken,
  insertConsumer,
  insertRequestToken,
  selectAccessTokenRow,
  selectAccessTokenRowsOfUser,
  selectConsumerRow,
  selectConsumerRows,
  selectRequestTokenRow,
  updateConsumerRow,
  type AccessTokenRow,
  type ConsumerRow,
  type RequestTokenRow,
} from '../store/oauth1.repo.js';
import { parseJson } from '../store/rows.js';
import { OAuth1RequestError, VERIFIER_ALPHABET, checkOAuth1Request, oauthHeaderParams, oauthSignatureMatches, type CheckedOAuth1Request, type OAuth1Request } from './oauth1.js';

export interface Consumer {
  id: string;
  description: string | null;
  /** Shown once, when the consumer is created. */
  secret: string;
  extra: Extra;
}

export interface RequestToken {
  id: string;
  secret: string;
  verifier: string | null;
  authorizingUserId: string | null;
  requestedProjectId: string;
  roleIds: string[] | null;
  consumerId: string;
  expiresAt: number | null;
}

export interface AccessToken {
  id: string;
  secret: string;
  authorizingUserId: string;
  projectId: string;
  roleIds: string[];
  consumerId: string;
  expiresAt: number | null;
}

/** What token validation needs of an OAuth1 access token (TokensService takes this, not the whole service). */
export interface OAuth1TokenSource {
  /**
   * The roles a token made with this access token carries now: those the user lent (with what
   * they imply) that the user still holds on the project. Throws when the access token is gone,
   * expired, or not this user's on this project.
   */
  tokenAccess(accessTokenId: string, userId: string, projectId: string): Promise<{ roleIds: string[]; consumerId: string }>;
}

export interface OAuth1Settings {
  /** `[oauth1] request_token_duration`, seconds; 0 = never expires. */
  requestTokenDuration: number;
  /** `[oauth1] access_token_duration`, seconds; 0 = never expires. */
  accessTokenDuration: number;
}

// Keystone raises these as plain NotFound with its own words.
export const ConsumerNotFound = () => new NotFoundError('Consumer not found', 'identity.consumer_not_found');
export const RequestTokenNotFound = () => new NotFoundError('Request token not found', 'identity.request_token_not_found');
export const AccessTokenNotFound = () => new NotFoundError('Access token not found', 'identity.access_token_not_found');

const consumerOf = (r: ConsumerRow): Consumer => ({ id: r.id, description: r.description, secret: r.secret, extra: parseJson(r.extra, {}) });
const requestTokenOf = (r: RequestTokenRow): RequestToken => ({
  id: r.id,
  secret: r.request_secret,
  verifier: r.verifier,
  authorizingUserId: r.authorizing_user_id,
  requestedProjectId: r.requested_project_id,
  roleIds: r.role_ids === null ? null : parseJson<string[]>(r.role_ids, []),
  consumerId: r.consumer_id,
  expiresAt: r.expires_at === null ? null : Number(r.expires_at),
});
const accessTokenOf = (r: AccessTokenRow): AccessToken => ({
  id: r.id,
  secret: r.access_secret,
  authorizingUserId: r.authorizing_user_id,
  projectId: r.project_id,
  roleIds: parseJson<string[]>(r.role_ids, []),
  consumerId: r.consumer_id,
  expiresAt: r.expires_at === null ? null : Number(r.expires_at),
});

export class OAuth1Service implements OAuth1TokenSource {
  private readonly d: CoreDeps;
  private readonly resources: ResourceService;
  private readonly roles: RolesService;
  private readonly settings: OAuth1Settings;

  constructor(deps: CoreDeps, s: { resources: ResourceService; roles: RolesService }, settings: OAuth1Settings) {
    this.d = deps;
    this.resources = s.resources;
    this.roles = s.roles;
    this.settings = settings;
  }

  // ---- consumers ---------------------------------------------------------------------------

  async createConsumer(input: { description: string | null; extra: Extra }, caller: Caller): Promise<Consumer> {
    const c: Consumer = { id: newHexId(), description: input.description, secret: newHexId(), extra: input.extra };
    await insertConsumer(this.d.db, { id: c.id, description: c.description, secret: c.secret, extra: JSON.stringify(c.extra) });
    this.d.notifier.resource('created', 'OS-OAUTH1:consumer', c.id, caller.initiator);
    return c;
  }

  async getConsumerOrThrow(id: string): Promise<Consumer> {
    const r = await selectConsumerRow(this.d.db, id);
    if (!r) throw ConsumerNotFound();
    return consumerOf(r);
  }

  async listConsumers(): Promise<Consumer[]> {
    return (await selectConsumerRows(this.d.db)).map(consumerOf);
  }

  async updateConsumer(id: string, patch: { description?: string | null; extra: Extra }, caller: Caller): Promise<Consumer> {
    const current = await this.getConsumerOrThrow(id);
    const next: Consumer = {
      ...current,
      description: patch.description === undefined ? current.description : patch.description,
      extra: { ...current.extra, ...patch.extra },
    };
    await updateConsumerRow(this.d.db, id, { description: next.description, extra: JSON.stringify(next.extra) });
    this.d.notifier.resource('updated', 'OS-OAUTH1:consumer', id, caller.initiator);
    return next;
  }

  /**
   * The consumer with its request and access tokens. Tokens issued through them stop
   * validating, because validation looks the access token up (upstream revokes by consumer too).
   */
  async deleteConsumer(id: string, caller: Caller): Promise<void> {
    await this.getConsumerOrThrow(id);
    await deleteConsumerRow(this.d.db, id);
    this.d.invalidator.invalidate(`OAuth1 consumer ${id} deleted`);
    this.d.notifier.resource('deleted', 'OS-OAUTH1:consumer', id, caller.initiator);
  }

  // ---- access tokens a user gave -----------------------------------------------------------

  async getAccessTokenOrThrow(id: string): Promise<AccessToken> {
    const r = await selectAccessTokenRow(this.d.db, id);
    if (!r) throw AccessTokenNotFound();
    return accessTokenOf(r);
  }

  /** An access token of this user; another user's reads as absent (upstream's bare NotFound). */
  async getUserAccessTokenOrThrow(userId: string, id: string): Promise<AccessToken> {
    const t = await this.getAccessTokenOrThrow(id);
    if (t.authorizingUserId !== userId) throw new NotFoundError('The resource could not be found.', 'identity.access_token_other_user');
    return t;
  }

  async listAccessTokens(userId: string): Promise<AccessToken[]> {
    return (await selectAccessTokenRowsOfUser(this.d.db, userId)).map(accessTokenOf);
  }

  /** The roles the user lent; a role deleted since is a 404, as upstream's get_role. */
  async listAccessTokenRoles(userId: string, id: string): Promise<Role[]> {
    const t = await this.getUserAccessTokenOrThrow(userId, id);
    const out: Role[] = [];
    for (const roleId of t.roleIds) out.push(await this.roles.getRoleOrThrow(roleId));
    return out;
  }

  async getAccessTokenRoleOrThrow(userId: string, id: string, roleId: string): Promise<Role> {
    const t = await this.getAccessTokenOrThrow(id);
    if (t.authorizingUserId !== userId) throw AuthFailed('access_token_other_user');
    if (!t.roleIds.includes(roleId)) throw RoleNotFound(roleId);
    return this.roles.getRoleOrThrow(roleId);
  }

  async deleteAccessToken(userId: string, id: string, caller: Caller): Promise<void> {
    const t = await this.getAccessTokenOrThrow(id);
    if (t.authorizingUserId !== userId) throw AuthFailed('access_token_other_user');
    await deleteAccessTokenRow(this.d.db, id);
    this.d.invalidator.invalidate(`OAuth1 access token of consumer ${t.consumerId} deleted`);
    this.d.notifier.resource('deleted', 'OS-OAUTH1:access_token', id, caller.initiator);
  }

  async tokenAccess(accessTokenId: string, userId: string, projectId: string): Promise<{ roleIds: string[]; consumerId: string }> {
    const at = await this.getAccessTokenOrThrow(accessTokenId);
    if (at.authorizingUserId !== userId || at.projectId !== projectId || this.expired(at.expiresAt)) throw AccessTokenNotFound();
    // upstream's _get_oauth_roles: the lent roles plus what they imply, kept if the user holds them there
    const implied = new Map<string, string[]>();
    for (const rule of await this.roles.listImplications()) implied.set(rule.prior.id, rule.implies.map((r) => r.id));
    const lent = new Set<string>();
    const stack = [...at.roleIds];
    while (stack.length) {
      const r = stack.pop()!;
      if (lent.has(r)) continue;
      lent.add(r);
      stack.push(...(implied.get(r) ?? []));
    }
    const held = await this.roles.effectiveRoleIds(userId, { project: projectId });
    return { roleIds: held.filter((r) => lent.has(r)), consumerId: at.consumerId };
  }

  // ---- the delegation flow -----------------------------------------------------------------

  /** upstream's get_unique_role_by_name: a global role. */
  private async globalRoleIdByName(name: string): Promise<string> {
    const [role] = await this.roles.listRoles({ name, domainId: null });
    if (!role) throw RoleNotFound(name);
    return role.id;
  }

  private expiry(seconds: number): number | null {
    return seconds > 0 ? this.d.clock.nowMs() + seconds * 1000 : null;
  }

  private expired(expiresAt: number | null): boolean {
    return expiresAt !== null && this.d.clock.nowMs() > expiresAt;
  }

  /** POST /v3/OS-OAUTH1/request_token: a consumer's signed request for a token on a project. */
  async createRequestToken(req: OAuth1Request, requestedProjectId: string | undefined): Promise<RequestToken> {
    // keystone checks these itself before oauthlib looks at the request
    const header = oauthHeaderParams(req.authorization);
    if (!header.oauth_consumer_key) throw ExpectingToFind('oauth_consumer_key', 'request');
    if (!requestedProjectId) throw ExpectingToFind('Requested-Project-Id', 'request');
    await this.resources.getProjectOrThrow(requestedProjectId);
    const consumer = await this.getConsumerOrThrow(header.oauth_consumer_key);
    const checked = checkOrFail(req, this.d.clock.nowMs(), 'request_token');
    if (!oauthSignatureMatches(req, checked, consumer.secret, undefined)) throw AuthFailed('oauth1_bad_signature');
    const t: RequestToken = {
      id: newHexId(),
      secret: newHexId(),
      verifier: null,
      authorizingUserId: null,
      requestedProjectId,
      roleIds: null,
      consumerId: consumer.id,
      expiresAt: this.expiry(this.settings.requestTokenDuration),
    };
    await insertRequestToken(this.d.db, {
      id: t.id,
      request_secret: t.secret,
      verifier: null,
      authorizing_user_id: null,
      requested_project_id: t.requestedProjectId,
      role_ids: null,
      consumer_id: t.consumerId,
      expires_at: t.expiresAt,
    });
    this.d.notifier.resource('created', 'OS-OAUTH1:request_token', t.id, {});
    return t;
  }

  /**
   * PUT /v3/OS-OAUTH1/authorize/{id}: the caller lends some of their roles on the requested
   * project; every role must be one they hold there. Returns the verifier.
   */
  async authorizeRequestToken(id: string, userId: string, roles: ({ id: string } | { name: string })[]): Promise<string> {
    const r = await selectRequestTokenRow(this.d.db, id);
    if (!r) throw RequestTokenNotFound();
    const t = requestTokenOf(r);
    if (this.expired(t.expiresAt)) throw AuthFailed('oauth1_request_token_expired');
    const wanted = new Set<string>();
    for (const role of roles) {
      if ('id' in role) wanted.add(role.id);
      else wanted.add(await this.globalRoleIdByName(role.name));
    }
    const held = new Set(await this.roles.effectiveRoleIds(userId, { project: t.requestedProjectId }));
    for (const roleId of wanted) if (!held.has(roleId)) throw AuthFailed('oauth1_role_not_held');
    const verifier = randomVerifier();
    await authorizeRequestTokenRow(this.d.db, id, { authorizing_user_id: userId, verifier, role_ids: JSON.stringify([...wanted]) });
    return verifier;
  }

  /** POST /v3/OS-OAUTH1/access_token: the consumer trades an authorized request token, signed with both secrets. */
  async createAccessToken(req: OAuth1Request): Promise<AccessToken> {
    const header = oauthHeaderParams(req.authorization);
    if (!header.oauth_consumer_key) throw ExpectingToFind('oauth_consumer_key', 'request');
    if (!header.oauth_token) throw ExpectingToFind('oauth_token', 'request');
    if (!header.oauth_verifier) throw ExpectingToFind('oauth_verifier', 'request');
    const r = await selectRequestTokenRow(this.d.db, header.oauth_token);
    if (!r) throw RequestTokenNotFound();
    const rt = requestTokenOf(r);
    if (this.expired(rt.expiresAt)) throw AuthFailed('oauth1_request_token_expired');
    const checked = checkOrFail(req, this.d.clock.nowMs(), 'access_token');
    const consumer = await this.getConsumerOrThrow(header.oauth_consumer_key).catch(() => undefined);
    if (!consumer) throw AuthFailed('oauth1_consumer_missing');
    if (rt.consumerId !== consumer.id) throw AuthFailed('oauth1_consumer_mismatch');
    if (rt.verifier !== header.oauth_verifier) throw AuthFailed('oauth1_verifier_mismatch');
    if (!oauthSignatureMatches(req, checked, consumer.secret, rt.secret)) throw AuthFailed('oauth1_bad_signature');
    if (!rt.authorizingUserId) throw AuthFailed('oauth1_not_authorized');
    const at: AccessToken = {
      id: newHexId(),
      secret: newHexId(),
      authorizingUserId: rt.authorizingUserId,
      projectId: rt.requestedProjectId,
      roleIds: rt.roleIds ?? [],
      consumerId: rt.consumerId,
      expiresAt: this.expiry(this.settings.accessTokenDuration),
    };
    const exchanged = await exchangeRequestToken(this.d.db, rt.id, {
      id: at.id,
      access_secret: at.secret,
      authorizing_user_id: at.authorizingUserId,
      project_id: at.projectId,
      role_ids: JSON.stringify(at.roleIds),
      consumer_id: at.consumerId,
      expires_at: at.expiresAt,
    });
    if (!exchanged) throw RequestTokenNotFound();
    this.d.notifier.resource('created', 'OS-OAUTH1:access_token', at.id, {});
    return at;
  }

  /**
   * The `oauth1` auth method: a request signed with an access token and its consumer. Returns
   * the access token, whose user, project and roles the new token takes.
   */
  async authenticate(req: OAuth1Request): Promise<AccessToken> {
    const header = oauthHeaderParams(req.authorization);
    if (!header.oauth_token) throw ExpectingToFind('oauth_token', 'request');
    const at = await this.getAccessTokenOrThrow(header.oauth_token);
    if (this.expired(at.expiresAt)) throw AuthFailed('oauth1_access_token_expired');
    let checked: CheckedOAuth1Request;
    try {
      checked = checkOAuth1Request(req, this.d.clock.nowMs(), 'resource');
    } catch {
      throw AuthFailed('oauth1_invalid_request');
    }
    const consumer = await this.getConsumerOrThrow(checked.params.oauth_consumer_key!).catch(() => undefined);
    if (!consumer || consumer.id !== at.consumerId || !oauthSignatureMatches(req, checked, consumer.secret, at.secret)) throw AuthFailed('oauth1_bad_signature');
    return at;
  }
}

/** oauthlib's checks; what it reports becomes upstream's 400 via validate_oauth_params. */
function checkOrFail(req: OAuth1Request, nowMs: number, kind: 'request_token' | 'access_token'): CheckedOAuth1Request {
  try {
    return checkOAuth1Request(req, nowMs, kind);
  } catch (err) {
    if (err instanceof OAuth1RequestError) throw BadRequest(`Validation failed with errors: ${err.error}, detail message is: ${err.message}.`, 'identity.oauth1_invalid_request');
    throw err;
  }
}

/** 8 distinct characters, as upstream's random.sample(VERIFIER_CHARS, 8). */
function randomVerifier(): string {
  const pool = [...VERIFIER_ALPHABET];
  let out = '';
  for (let i = 0; i < 8; i++) out += pool.splice(randomInt(pool.length), 1)[0]!;
  return out;
}
