// Volume transfers (Cinder's transfer/api.py): a volume offered with a one-time key, withdrawn, or
// accepted by any project holding the key, which then owns the volume (and its snapshots) and
// their quota usage; the move is one transaction, so a quota breach changes nothing.
import { randomBytes, randomUUID, scrypt, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';
import type { RequestContext } from '@alto/kernel';
import { typeNamesOf } from '../store/type.repo.js';
import { selectVolume, updateVolumeIf, type Db, type VolumeRow } from '../store/volume.repo.js';
import { endTransfer, insertTransfer, listTransferRows, selectTransfer, type TransferListQuery, type TransferRow } from '../store/transfer.repo.js';
import type { TransferTable } from '../store/schema.js';
import { isAdmin, type BlockStorageCoreDeps } from './deps.js';
import { BadRequest, InvalidInput, InvalidSnapshot, InvalidVolume, TransferNotFound, VolumeNotFound } from './errors.js';
import { snapshotDeltas, volumeDeltas, type Deltas, type QuotaEngine } from './quotas.js';

/** A new transfer with the key its creator is told once (never stored). */
export interface CreatedTransfer {
  row: TransferRow;
  authKey: string;
}

export interface CreateTransferInput {
  volumeId: string;
  name: string | null;
  /** 3.55: leave the volume's snapshots with the donor. */
  noSnapshots: boolean;
  /** 3.70: encrypted volumes may be transferred. */
  allowEncrypted: boolean;
}

/** What an accepted transfer answers (Cinder's accept returns id, display_name, volume_id). */
export interface AcceptedTransfer {
  id: string;
  display_name: string | null;
  volume_id: string;
}

/** Cinder's volume_transfer_key_length: 16 characters a person can type (hex). */
const AUTH_KEY_LENGTH = 16;
/**
 * Cinder keeps hmac-sha1(salt, key); a 16-hex-digit key (64 bits) is cheap to brute-force from
 * a leaked sha1, so we keep scrypt(key, salt) and say so in the stored value.
 */
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;
const SCRYPT_PREFIX = `scrypt:${SCRYPT.N}:${SCRYPT.r}:${SCRYPT.p}:`;

function scryptAsync(key: BinaryLike, salt: BinaryLike, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(key, salt, keylen, opts, (err, out) => (err ? reject(err) : resolve(out))));
}

/** The stored hash of an auth key. */
export async function hashAuthKey(salt: string, authKey: string): Promise<string> {
  const out = await scryptAsync(authKey, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return SCRYPT_PREFIX + out.toString('hex');
}

/** Whether `authKey` is the key `stored` was made from, compared in constant time. */
export async function authKeyMatches(salt: string, stored: string, authKey: string): Promise<boolean> {
  if (!stored.startsWith(SCRYPT_PREFIX)) return false;
  const expected = Buffer.from(stored.slice(SCRYPT_PREFIX.length), 'hex');
  const actual = Buffer.from((await hashAuthKey(salt, authKey)).slice(SCRYPT_PREFIX.length), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Cinder's InvalidAuthKey (a 400). */
const InvalidAuthKey = (transferId: string) => BadRequest(`Invalid auth key: Attempt to transfer ${transferId} with invalid auth key.`, 'volume.invalid_auth_key');

export class TransfersService {
  private readonly d: BlockStorageCoreDeps;
  private readonly quotas: QuotaEngine;

  constructor(d: BlockStorageCoreDeps, quotas: QuotaEngine) {
    this.d = d;
    this.quotas = quotas;
  }

  /** A live transfer the caller may see: of a volume its project owns (any for admins), or TransferNotFound. */
  async getOrThrow(ctx: RequestContext, id: string, db: Db = this.d.db): Promise<TransferRow> {
    const row = await selectTransfer(db, id, isAdmin(ctx) ? undefined : (ctx.projectId ?? ''));
    if (!row) throw TransferNotFound(id);
    return row;
  }

  /** A volume the caller may see (its project's; any for admins), or VolumeNotFound. */
  async volumeRowOrThrow(ctx: RequestContext, id: string): Promise<VolumeRow> {
    const row = await selectVolume(this.d.db, id);
    if (!row || (!isAdmin(ctx) && row.project_id !== ctx.projectId)) throw VolumeNotFound(id);
    return row;
  }

  /** The policy target of a transfer's volume (volume:create_transfer, volume:delete_transfer). */
  async volumeTarget(ctx: RequestContext, volumeId: string): Promise<Record<string, unknown>> {
    const v = await this.volumeRowOrThrow(ctx, volumeId);
    return { ...v, project_id: v.project_id, user_id: v.user_id };
  }

  /** The delete route's target: the transfer's volume (404 first when the transfer is not the caller's). */
  async transferVolumeTarget(ctx: RequestContext, id: string): Promise<Record<string, unknown>> {
    const t = await this.getOrThrow(ctx, id);
    return this.volumeTarget(ctx, t.volume_id);
  }

  async list(q: TransferListQuery): Promise<TransferRow[]> {
    return listTransferRows(this.d.db, q);
  }

  /** Offers an available volume: it becomes awaiting-transfer until the transfer is accepted or deleted. */
  async create(ctx: RequestContext, input: CreateTransferInput): Promise<CreatedTransfer> {
    const volume = await this.volumeRowOrThrow(ctx, input.volumeId);
    if (volume.status !== 'available') throw InvalidVolume('status must be available');
    if (volume.encryption_key_id !== null) {
      if (!input.allowEncrypted) throw InvalidVolume('transferring encrypted volume is not supported');
      if (input.noSnapshots) throw InvalidVolume('transferring an encrypted volume without its snapshots is not supported');
    }
    if (!input.noSnapshots) {
      const snaps = await this.snapshotsOf(this.d.db, volume.id);
      const busy = snaps.find((s) => s.status !== 'available');
      if (busy) throw InvalidSnapshot(`snapshot: ${busy.id} status must be available`);
    }
    const authKey = randomBytes(AUTH_KEY_LENGTH / 2).toString('hex');
    const salt = randomBytes(16).toString('hex');
    const row: TransferTable = {
      id: randomUUID(),
      volume_id: volume.id,
      source_project_id: volume.project_id,
      destination_project_id: null,
      display_name: input.name,
      salt,
      crypt_hash: await hashAuthKey(salt, authKey),
      no_snapshots: input.noSnapshots ? 1 : 0,
      accepted: 0,
      created_at: this.d.clock.nowMs(),
      updated_at: null,
      deleted: 0,
      deleted_at: null,
    };
    await this.d.db.transaction().execute(async (trx) => {
      // Cinder's transfer_create: the volume must still be available when the row goes in
      if (!(await updateVolumeIf(trx, volume.id, ['available'], { status: 'awaiting-transfer', previous_status: 'available', updated_at: row.created_at }))) {
        throw InvalidVolume(`Transfer ${row.id}: Volume id ${volume.id} expected in available state.`);
      }
      await insertTransfer(trx, row);
    });
    return { row, authKey };
  }

  /** Withdraws a transfer: the volume is available to its owner again. */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const t = await this.getOrThrow(ctx, id);
    const now = this.d.clock.nowMs();
    await this.d.db.transaction().execute(async (trx) => {
      if (!(await endTransfer(trx, t.id, now))) throw TransferNotFound(id);
      // COMPAT(cinder transfer_destroy): a volume no longer awaiting the transfer keeps its status
      if (!(await updateVolumeIf(trx, t.volume_id, ['awaiting-transfer'], { status: 'available', updated_at: now }))) {
        this.d.log.warn({ transfer_id: id, volume_id: t.volume_id }, 'transfer deleted while its volume was not awaiting-transfer');
      }
    });
  }

  /**
   * Gives the volume (and its snapshots unless the transfer says no_snapshots) to the caller's
   * project and user. The caller need not see the volume: the key is the authorization.
   */
  async accept(ctx: RequestContext, id: string, authKey: string): Promise<AcceptedTransfer> {
    const projectId = ctx.projectId;
    if (!projectId) throw InvalidInput('a project-scoped token is required to accept a transfer');
    const t = await selectTransfer(this.d.db, id);
    if (!t) throw TransferNotFound(id);
    if (!(await authKeyMatches(t.salt, t.crypt_hash, authKey))) {
      // an operator should see guessing (Cinder logs it too)
      this.d.log.warn({ transfer_id: id, project_id: projectId, user_id: ctx.userId }, 'transfer accept with an invalid auth key');
      throw InvalidAuthKey(id);
    }
    const volume = await selectVolume(this.d.db, t.volume_id);
    if (!volume) throw VolumeNotFound(t.volume_id);
    if (volume.consistencygroup_id) throw InvalidVolume(`Volume ${volume.id} must not be part of a consistency group.`);
    await this.quotas.checkPerVolumeSize(projectId, Number(volume.size));
    if (volume.status === 'maintenance') throw InvalidVolume('The volume cannot accept transfer in maintenance mode.');

    const typeName = (await typeNamesOf(this.d.db, [volume.volume_type_id])).get(volume.volume_type_id) ?? volume.volume_type_id;
    const volumeQuota: Deltas = volume.use_quota ? volumeDeltas(Number(volume.size), typeName) : {};
    const snaps = t.no_snapshots ? [] : await this.snapshotsOf(this.d.db, volume.id);
    const snapshotQuota: Deltas = {};
    // Cinder counts every snapshot with the volume's type; ours skips temporary ones, as they never counted
    for (const s of snaps.filter((x) => x.use_quota)) {
      for (const [k, v] of Object.entries(snapshotDeltas(Number(s.volume_size), typeName))) snapshotQuota[k] = (snapshotQuota[k] ?? 0) + v;
    }
    await this.quotas.prepare(projectId, sumDeltas(volumeQuota, snapshotQuota));
    const now = this.d.clock.nowMs();
    await this.d.db.transaction().execute(async (trx) => {
      // the receiver first (Cinder reserves the volume, then its snapshots): a breach undoes it all
      await this.quotas.consume(trx, projectId, volumeQuota);
      if (Object.keys(snapshotQuota).length) await this.quotas.consume(trx, projectId, snapshotQuota);
      await this.quotas.release(trx, volume.project_id, sumDeltas(volumeQuota, snapshotQuota));
      const moved = await updateVolumeIf(trx, volume.id, ['awaiting-transfer'], { status: 'available', user_id: ctx.userId ?? '', project_id: projectId, updated_at: now });
      if (!moved) throw InvalidVolume(`Transfer ${id}: Volume id ${volume.id} expected in awaiting-transfer state.`);
      for (const s of snaps) {
        const r = await trx
          .updateTable('snapshot')
          .set({ user_id: ctx.userId ?? '', project_id: projectId, updated_at: now })
          .where('id', '=', s.id)
          .where('deleted', '=', 0)
          .where('status', '=', 'available')
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) throw InvalidSnapshot(`Transfer ${id}: Snapshot ${s.id} is not in the expected available state.`);
      }
      // two racing accepts: the second finds the transfer gone and undoes its own moves
      if (!(await endTransfer(trx, t.id, now, projectId))) throw TransferNotFound(id);
    });
    this.d.log.info({ transfer_id: id, volume_id: volume.id, from: volume.project_id, to: projectId }, 'volume transferred');
    return { id: t.id, display_name: t.display_name, volume_id: volume.id };
  }

  private async snapshotsOf(db: Db, volumeId: string) {
    return db.selectFrom('snapshot').select(['id', 'status', 'volume_size', 'use_quota']).where('volume_id', '=', volumeId).where('deleted', '=', 0).execute();
  }
}

function sumDeltas(a: Deltas, b: Deltas): Deltas {
  const out: Deltas = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}
