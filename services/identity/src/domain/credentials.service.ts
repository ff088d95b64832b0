// Credentials (/v3/credentials, OS-EC2) with blobs encrypted at rest, and EC2 signature authentication (/v3/ec2tokens).
import { ForbiddenError, NotFoundError, newHexId } from '@alto/kernel';
import { isUniqueViolation } from '@alto/db';
import type { Extra } from './models.js';
import { AuthFailed, BadRequest, Conflict, ExpectingToFind } from './errors.js';
import type { Caller, CoreDeps } from './deps.js';
import type { ResourceService } from './resource.service.js';
import type { UsersService } from './users.service.js';
import type { TokenData, TokensService } from './tokens.service.js';
import { ec2CredentialId, ec2SignatureMatches, ec2TimestampProblem, type Ec2Credentials } from './ec2.js';
import type { CredentialCipher } from '../crypto/credential-cipher.js';
import {
  countCredentialsOfUser,
  deleteCredentialRow,
  insertCredential,
  replaceCredentialBlob,
  selectCredentialRow,
  selectCredentialRows,
  updateCredentialRow,
  type CredentialRow,
} from '../store/credential.repo.js';
import { parseJson } from '../store/rows.js';
import type { Db } from '../store/rows.js';

export const EC2 = 'ec2';

export interface Credential {
  id: string;
  userId: string;
  projectId: string | null;
  type: string;
  /** The secret itself, decrypted; for EC2 a JSON object with access and secret, as a string. */
  blob: string;
  extra: Extra;
}

export interface CredentialInput {
  userId: string;
  projectId?: string | null;
  type: string;
  blob: string;
  extra?: Extra;
}

export interface CredentialPatch {
  userId?: string;
  projectId?: string | null;
  type?: string;
  blob?: string;
  extra?: Extra;
}

export interface CredentialSettings {
  /** `[credential] user_limit`; -1 = unlimited. */
  userLimit: number;
  /** `[credential] auth_ttl`, minutes. */
  authTtlMinutes: number;
}

export const CredentialNotFound = (id: string) => new NotFoundError(`Could not find credential: ${id}.`, 'identity.credential_not_found');
export const CredentialLimitExceeded = (limit: number) =>
  new ForbiddenError(`Unable to create additional credentials, maximum of ${limit} already exceeded for user.`, 'identity.credential_limit_exceeded');

/** What an EC2 blob must hold; upstream's _validate_blob_json. */
export function parseEc2Blob(blob: string | undefined): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(blob ?? '');
  } catch {
    throw BadRequest('Invalid blob in credential', 'identity.credential_invalid_blob');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || Object.keys(parsed).length === 0) throw ExpectingToFind('blob', 'credential');
  const o = parsed as Record<string, unknown>;
  if (o.access === undefined || o.access === null) throw ExpectingToFind('access', 'credential');
  return o;
}

/** Python's json.dumps() of a flat object (", " and ": " separators, non-ASCII escaped), as upstream writes EC2 blobs. */
export function pyJsonDumps(o: Record<string, unknown>): string {
  const ascii = (s: string) => s.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `{${Object.entries(o)
    .map(([k, v]) => `${ascii(JSON.stringify(k))}: ${ascii(JSON.stringify(v ?? null))}`)
    .join(', ')}}`;
}

/** The EC2 fields of a credential (OS-EC2's view and /v3/ec2tokens read these). */
export interface Ec2Blob {
  access: string | undefined;
  secret: string | undefined;
  trustId: string | null;
  appCredId: string | null;
  accessTokenId: string | null;
}

export function ec2BlobOf(c: Credential): Ec2Blob {
  const o = parseJson<Record<string, unknown>>(c.blob, {});
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { access: str(o.access), secret: str(o.secret), trustId: str(o.trust_id) ?? null, appCredId: str(o.app_cred_id) ?? null, accessTokenId: str(o.access_token_id) ?? null };
}

/** Keys of an EC2 blob that tie it to a delegation; an update may not add, change or drop them. */
const SCOPING_KEYS = ['trust_id', 'app_cred_id', 'access_token_id', 'access_id'];

export class CredentialsService {
  private readonly d: CoreDeps;
  private readonly cipher: CredentialCipher;
  private readonly resources: ResourceService;
  private readonly users: UsersService;
  private readonly tokens: TokensService;
  private readonly settings: CredentialSettings;

  constructor(
    deps: CoreDeps,
    s: { cipher: CredentialCipher; resources: ResourceService; users: UsersService; tokens: TokensService },
    settings: CredentialSettings,
  ) {
    this.d = deps;
    this.cipher = s.cipher;
    this.resources = s.resources;
    this.users = s.users;
    this.tokens = s.tokens;
    this.settings = settings;
  }

  private async credentialOf(r: CredentialRow): Promise<Credential> {
    return { id: r.id, userId: r.user_id, projectId: r.project_id, type: r.type, blob: await this.cipher.decrypt(r.encrypted_blob), extra: parseJson(r.extra, {}) };
  }

  async getCredentialOrThrow(id: string): Promise<Credential> {
    const r = await selectCredentialRow(this.d.db, id);
    if (!r) throw CredentialNotFound(id);
    return this.credentialOf(r);
  }

  async listCredentials(f: { userId?: string; type?: string } = {}): Promise<Credential[]> {
    const rows = await selectCredentialRows(this.d.db, f);
    return Promise.all(rows.map((r) => this.credentialOf(r)));
  }

  async createCredential(input: CredentialInput, caller: Caller | undefined): Promise<Credential> {
    let id: string;
    if (input.type.toLowerCase() === EC2) {
      // an EC2 credential is found by its access key alone, so its id derives from it
      const blob = parseEc2Blob(input.blob);
      if (!input.projectId) throw ExpectingToFind('project_id', 'credential');
      id = ec2CredentialId(String(blob.access));
    } else {
      id = newHexId();
    }
    const c: Credential = { id, userId: input.userId, projectId: input.projectId ?? null, type: input.type, blob: input.blob, extra: input.extra ?? {} };
    if (this.settings.userLimit >= 0 && (await countCredentialsOfUser(this.d.db, c.userId)) >= this.settings.userLimit) throw CredentialLimitExceeded(this.settings.userLimit);
    const sealed = await this.cipher.encrypt(c.blob);
    try {
      await insertCredential(this.d.db, {
        id,
        user_id: c.userId,
        project_id: c.projectId,
        type: c.type,
        encrypted_blob: sealed.encryptedBlob,
        key_hash: sealed.keyHash,
        extra: JSON.stringify(c.extra),
        created_at: this.d.clock.nowMs(),
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw Conflict('credential', `Duplicate entry found with ID ${id}`);
      throw err;
    }
    if (caller) this.d.notifier.resource('created', 'credential', id, caller.initiator);
    return c;
  }

  /**
   * PATCH as the documented API has it: blob, type, project_id, user_id and extra attributes.
   * An EC2 credential keeps its id (the hash of its first access key) and its delegation keys.
   */
  async updateCredential(id: string, patch: CredentialPatch, caller: Caller): Promise<Credential> {
    const current = await this.getCredentialOrThrow(id);
    if (current.type.toLowerCase() === EC2 && patch.blob !== undefined) {
      const next = parseEc2Blob(patch.blob);
      const old = parseJson<Record<string, unknown>>(current.blob, {});
      for (const key of SCOPING_KEYS) {
        if (JSON.stringify(old[key] ?? null) !== JSON.stringify(next[key] ?? null)) throw BadRequest(`${key} can not be updated for credential`, 'identity.credential_scope_immutable');
      }
    }
    // an EC2 credential without a project cannot be used
    if (patch.type?.toLowerCase() === EC2 && !patch.projectId && !current.projectId) throw ExpectingToFind('project_id', 'credential');
    const next: Credential = {
      ...current,
      userId: patch.userId ?? current.userId,
      projectId: patch.projectId === undefined ? current.projectId : patch.projectId,
      type: patch.type ?? current.type,
      blob: patch.blob ?? current.blob,
      extra: patch.extra ? { ...current.extra, ...patch.extra } : current.extra,
    };
    const sealed = patch.blob !== undefined ? await this.cipher.encrypt(next.blob) : undefined;
    await updateCredentialRow(this.d.db, id, {
      user_id: next.userId,
      project_id: next.projectId,
      type: next.type,
      extra: JSON.stringify(next.extra),
      ...(sealed ? { encrypted_blob: sealed.encryptedBlob, key_hash: sealed.keyHash } : {}),
    });
    this.d.notifier.resource('updated', 'credential', id, caller.initiator);
    return next;
  }

  async deleteCredential(id: string, caller: Caller | undefined): Promise<void> {
    if ((await deleteCredentialRow(this.d.db, id)) === 0) throw CredentialNotFound(id);
    if (caller) this.d.notifier.resource('deleted', 'credential', id, caller.initiator);
  }

  // ---- OS-EC2 ------------------------------------------------------------------------------

  /** POST /v3/users/{u}/credentials/OS-EC2: a fresh access/secret pair for the user on the project. */
  async createEc2Credential(userId: string, projectId: string | undefined, trustId: string | null, caller: Caller): Promise<Credential> {
    await this.users.getUserOrThrow(userId);
    // upstream looks up the project even when none is given: "Could not find project: None."
    await this.resources.getProjectOrThrow(projectId ?? 'None');
    const blob = pyJsonDumps({ access: newHexId(), secret: newHexId(), trust_id: trustId });
    return this.createCredential({ userId, projectId: projectId ?? null, type: EC2, blob }, caller);
  }

  async listEc2Credentials(userId: string): Promise<Credential[]> {
    await this.users.getUserOrThrow(userId);
    return this.listCredentials({ userId, type: EC2 });
  }

  /** By access key. A credential of another type answers 401, as upstream's _get_raw_cred. */
  async getEc2CredentialOrThrow(userId: string, access: string): Promise<Credential> {
    await this.users.getUserOrThrow(userId);
    const c = await this.getCredentialOrThrow(ec2CredentialId(access));
    if (c.type !== EC2) throw AuthFailed('ec2_not_ec2');
    return c;
  }

  async deleteEc2Credential(userId: string, access: string, caller: Caller): Promise<void> {
    const c = await this.getEc2CredentialOrThrow(userId, access);
    await this.deleteCredential(c.id, caller);
  }

  // ---- /v3/ec2tokens -----------------------------------------------------------------------

  /**
   * keystone's EC2TokensResource: find the credential by access key, check the signature with
   * its secret, the user, project and timestamp, and issue a project-scoped token whose method
   * is `ec2credential`. Every refusal is the same 401, except unknown credentials, users and
   * projects, which upstream answers with 404. /v3/s3tokens is the same with S3's signature.
   */
  async authenticateEc2(creds: Ec2Credentials, signatureMatches: (secret: string, c: Ec2Credentials) => boolean = ec2SignatureMatches): Promise<TokenData> {
    if (typeof creds.access !== 'string') throw AuthFailed('ec2_no_access');
    const c = await this.getCredentialOrThrow(ec2CredentialId(creds.access));
    if (c.type !== EC2) throw AuthFailed('ec2_not_ec2');
    const blob = ec2BlobOf(c);
    if (!creds.signature) throw AuthFailed('ec2_no_signature');
    if (!signatureMatches(blob.secret ?? '', creds)) throw AuthFailed('ec2_bad_signature');
    const project = await this.resources.getProjectOrThrow(c.projectId ?? 'None');
    const user = await this.users.getUserOrThrow(c.userId);
    const [projectDomain, userDomain] = await Promise.all([
      this.resources.getDomainOrThrow(project.domainId).catch(() => undefined),
      this.resources.getDomainOrThrow(user.domainId).catch(() => undefined),
    ]);
    if (!user.enabled || !userDomain?.enabled || !project.enabled || !projectDomain?.enabled) throw AuthFailed('ec2_disabled');
    const late = ec2TimestampProblem(creds, this.d.clock.nowMs(), this.settings.authTtlMinutes);
    if (late) throw AuthFailed(`ec2_timestamp_${late}`);
    // Credentials bound to a trust, application credential or OAuth1 token can no longer be made
    // (delegated tokens may not create credentials); refuse any left from older data.
    if (blob.trustId || blob.appCredId || blob.accessTokenId) throw AuthFailed('ec2_delegated');
    return this.tokens.issue({ userId: user.id, methods: ['ec2credential'], scope: { type: 'project', projectId: project.id } });
  }

  // ---- key rotation ------------------------------------------------------------------------

  /** keystone-manage credential_migrate: re-encrypts with the primary key every blob another key wrote. */
  async migrateToPrimaryKey(): Promise<{ reencrypted: number; total: number }> {
    return migrateCredentialKeys(this.d.db, this.cipher);
  }
}

/**
 * Re-encrypts with the current primary key every credential another key wrote, so that the
 * next rotation cannot purge a key still in use. Safe to run while the API serves: a blob
 * changed meanwhile is left to its writer.
 */
export async function migrateCredentialKeys(db: Db, cipher: CredentialCipher): Promise<{ reencrypted: number; total: number }> {
  const primary = await cipher.primaryKeyHash();
  const rows = await selectCredentialRows(db);
  let reencrypted = 0;
  for (const r of rows) {
    if (r.key_hash === primary) continue;
    const sealed = await cipher.encrypt(await cipher.decrypt(r.encrypted_blob));
    if (await replaceCredentialBlob(db, r.id, r.encrypted_blob, { encrypted_blob: sealed.encryptedBlob, key_hash: sealed.keyHash })) reencrypted++;
  }
  return { reencrypted, total: rows.length };
}
