// QoS specs: create, list, show, set and delete keys, delete (force when associated) and the
// associations with volume types, as Cinder's volume/qos_specs.py and its DB API keep them.
import { randomUUID } from 'node:crypto';
import { NotFoundError, type RequestContext } from '@alto/kernel';
import {
  associateQos,
  deleteQosKey,
  deleteQosRow,
  disassociateQos,
  disassociateQosAll,
  insertQos,
  listQosRows,
  qosAssociations,
  qosSpecsOf,
  selectQos,
  selectQosByName,
  updateQosRow,
  upsertQosKeys,
  type QosListQuery,
  type QosSpecsRow,
} from '../store/qos.repo.js';
import { selectTypeById } from '../store/type.repo.js';
import type { BlockStorageCoreDeps } from './deps.js';
import { BadRequest, Conflict, InvalidInput, VolumeTypeNotFound } from './errors.js';

export interface QosDetail {
  row: QosSpecsRow;
  specs: Record<string, string>;
}

export const QOS_CONSUMERS = ['back-end', 'front-end', 'both'] as const;

// Cinder words these (exception.QoSSpecsNotFound and friends) differently from domain/errors.ts's QosSpecsNotFound.
export const QoSSpecsNotFound = (id: string) => new NotFoundError(`No such QoS spec ${id}.`, 'volume.qos_not_found');
export const QoSSpecsKeyNotFound = (id: string, key: string) => new NotFoundError(`QoS spec ${id} has no spec with key ${key}.`, 'volume.qos_key_not_found');
export const QoSSpecsExists = (name: string) => Conflict(`QoS Specs ${name} already exists.`, 'volume.qos_exists');
export const InvalidQoSSpecs = (reason: string) => BadRequest(`Invalid qos specs: ${reason}`, 'volume.invalid_qos');
/** COMPAT(cinder): the reason is the repr of oslo's enum field, which the API shows as it is. */
export const INVALID_CONSUMER =
  "Valid consumer of QoS specs are: QoSConsumerValues(default=<class 'oslo_versionedobjects.fields.UnspecifiedDefault'>,nullable=False,valid_values=('back-end', 'front-end', 'both'))";

/**
 * Cinder's utils.validate_dictionary_string_length: keys 1-255 characters, values 0-255, both
 * strings (oslo strutils.check_string_length's wording); the reason of an InvalidInput.
 */
export function specsLengthProblem(specs: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(specs)) {
    const keyName = `Key "${key}"`;
    if (key.length < 1) return `${keyName} has 0 characters, less than 1.`;
    if (key.length > 255) return `${keyName} has ${key.length} characters, more than 255.`;
    if (value === null || value === undefined) continue;
    const valueName = `Value for key "${key}"`;
    if (typeof value !== 'string') return `${valueName} is not a string or unicode`;
    if (value.length > 255) return `${valueName} has ${value.length} characters, more than 255.`;
  }
  return undefined;
}

const isConsumer = (v: unknown): v is string => typeof v === 'string' && (QOS_CONSUMERS as readonly string[]).includes(v);

/** Specs as stored (checked to be strings or null by specsLengthProblem): null is kept as '' (our column is NOT NULL). */
const stored = (specs: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, typeof v === 'string' ? v : '']));

export class QosService {
  private readonly d: BlockStorageCoreDeps;

  constructor(d: BlockStorageCoreDeps) {
    this.d = d;
  }

  async getRowOrThrow(id: string): Promise<QosSpecsRow> {
    const row = await selectQos(this.d.db, id);
    if (!row) throw QoSSpecsNotFound(id);
    return row;
  }

  async getOrThrow(id: string): Promise<QosDetail> {
    const row = await this.getRowOrThrow(id);
    return { row, specs: (await qosSpecsOf(this.d.db, [id])).get(id) ?? {} };
  }

  async list(q: QosListQuery): Promise<QosDetail[]> {
    const rows = await listQosRows(this.d.db, q);
    const specs = await qosSpecsOf(this.d.db, rows.map((r) => r.id));
    return rows.map((row) => ({ row, specs: specs.get(row.id) ?? {} }));
  }

  /**
   * `specs` is the request's qos_specs less `name`; `consumer` in it picks the consumer
   * (default back-end; an empty one is invalid, as Cinder's object field refuses it).
   */
  async create(_ctx: RequestContext, name: string, specs: Record<string, unknown>): Promise<QosDetail> {
    const problem = specsLengthProblem(specs);
    if (problem) throw InvalidInput(problem);
    const rest = { ...specs };
    let consumer: unknown = 'back-end';
    if ('consumer' in rest) {
      if (rest.consumer !== null) consumer = rest.consumer;
      delete rest.consumer;
    }
    if (!isConsumer(consumer)) throw InvalidQoSSpecs(INVALID_CONSUMER);
    const id = randomUUID();
    const now = this.d.clock.nowMs();
    await this.d.db.transaction().execute(async (trx) => {
      if (await selectQosByName(trx, name)) throw QoSSpecsExists(name);
      await insertQos(trx, { id, name, consumer, created_at: now, updated_at: null, deleted: 0, deleted_at: null }, stored(rest));
    });
    // a concurrent create of the same name can slip past the check above: the older one wins
    const winner = await this.d.db.selectFrom('qos_specs').select('id').where('name', '=', name).where('deleted', '=', 0).orderBy('created_at').orderBy('id').executeTakeFirst();
    if (winner && winner.id !== id) {
      await deleteQosRow(this.d.db, id, now);
      throw QoSSpecsExists(name);
    }
    return this.getOrThrow(id);
  }

  /** Sets keys (and the consumer when given); invalid input is an InvalidQoSSpecs here. */
  async update(_ctx: RequestContext, id: string, specs: Record<string, unknown>): Promise<void> {
    await this.getRowOrThrow(id);
    const problem = specsLengthProblem(specs);
    if (problem) throw InvalidQoSSpecs(`Invalid input received: ${problem}`);
    const rest = { ...specs };
    let consumer: string | undefined;
    if ('consumer' in rest) {
      if (rest.consumer !== null) {
        if (!isConsumer(rest.consumer)) throw InvalidQoSSpecs(INVALID_CONSUMER);
        consumer = rest.consumer;
      }
      delete rest.consumer;
    }
    await this.d.db.transaction().execute(async (trx) => {
      await upsertQosKeys(trx, id, stored(rest));
      await updateQosRow(trx, id, { updated_at: this.d.clock.nowMs(), ...(consumer ? { consumer } : {}) });
    });
  }

  /** Deletes the specs; associated ones only with force, which disassociates them first. */
  async delete(_ctx: RequestContext, id: string, force: boolean): Promise<void> {
    await this.getRowOrThrow(id);
    await this.d.db.transaction().execute(async (trx) => {
      const now = this.d.clock.nowMs();
      if ((await qosAssociations(trx, id)).length) {
        if (!force) throw BadRequest('Qos specs still in use.', 'volume.qos_in_use');
        await disassociateQosAll(trx, id, now);
      }
      await deleteQosRow(trx, id, now);
    });
  }

  /**
   * Deletes keys in order; COMPAT(cinder): the first missing key stops it with a 404, and the
   * keys before it stay deleted (Cinder saves what it removed in a finally).
   */
  async deleteKeys(_ctx: RequestContext, id: string, keys: string[]): Promise<void> {
    await this.getRowOrThrow(id);
    for (const key of keys) {
      if (!(await deleteQosKey(this.d.db, id, key))) throw QoSSpecsKeyNotFound(id, key);
    }
    await updateQosRow(this.d.db, id, { updated_at: this.d.clock.nowMs() });
  }

  async associations(id: string): Promise<{ association_type: 'volume_type'; name: string; id: string }[]> {
    await this.getRowOrThrow(id);
    return (await qosAssociations(this.d.db, id)).map((t) => ({ association_type: 'volume_type', name: t.name, id: t.id }));
  }

  /** A type has at most one QoS specs: another one's is an InvalidVolumeType; the same one is a no-op. */
  async associate(_ctx: RequestContext, id: string, typeId: string): Promise<void> {
    await this.getRowOrThrow(id);
    const type = await selectTypeById(this.d.db, typeId);
    if (!type) throw VolumeTypeNotFound(typeId);
    if (type.qos_specs_id) {
      if (type.qos_specs_id !== id) throw BadRequest(`Invalid volume type: Type ${typeId} is already associated with another qos specs: ${type.qos_specs_id}`, 'volume.invalid_type');
      return;
    }
    await associateQos(this.d.db, id, typeId, this.d.clock.nowMs());
  }

  async disassociate(_ctx: RequestContext, id: string, typeId: string): Promise<void> {
    await this.getRowOrThrow(id);
    if (!(await selectTypeById(this.d.db, typeId))) throw VolumeTypeNotFound(typeId);
    await disassociateQos(this.d.db, id, typeId, this.d.clock.nowMs());
  }

  async disassociateAll(_ctx: RequestContext, id: string): Promise<void> {
    await this.getRowOrThrow(id);
    await disassociateQosAll(this.d.db, id, this.d.clock.nowMs());
  }
}
