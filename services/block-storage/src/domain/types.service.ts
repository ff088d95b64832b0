// Volume types: list, show (also the caller's default), create, update, delete, extra specs,
// private types' project access and per-project default types (3.62), as Cinder's
// volume/volume_types.py and its DB API keep them.
import { randomUUID } from 'node:crypto';
import { InternalError, type RequestContext } from '@alto/kernel';
import {
  deleteDefaultType,
  deleteExtraSpec,
  deleteTypeAccess,
  deleteTypeRow,
  extraSpecsOf,
  extraSpecsOfTypes,
  insertType,
  insertTypeAccess,
  listDefaultTypes,
  listTypeRows,
  projectsWithDefaultType,
  renameTypeQuotaResources,
  selectDefaultTypeRow,
  selectProjectDefaultType,
  selectTypeById,
  selectTypeByName,
  typeAccessible,
  typeAccessProjects,
  typeInUse,
  updateTypeRow,
  upsertDefaultType,
  upsertExtraSpecs,
  type DefaultTypeRow,
  type TypeListQuery,
  type VolumeTypeRow,
} from '../store/type.repo.js';
import type { Db } from '../store/volume.repo.js';
import { isAdmin, type BlockStorageCoreDeps } from './deps.js';
import { BadRequest, Conflict, InvalidVolumeType, NotFound, VolumeTypeNotFound, VolumeTypeNotFoundByName } from './errors.js';
import { looksLikeUuid } from './volumes.service.js';

/** A type with its extra specs. */
export interface TypeDetail {
  row: VolumeTypeRow;
  extraSpecs: Record<string, string>;
}

export interface CreateTypeInput {
  name: string;
  description?: string | null | undefined;
  extraSpecs?: Record<string, string> | undefined;
  isPublic: boolean;
}

export interface UpdateTypeInput {
  name?: string | null | undefined;
  description?: string | null | undefined;
  isPublic?: boolean | null | undefined;
}

/** Policy decisions that shape a type's view (cinder/api/v3/views/types.py, volume_type_access). */
export interface TypeViewRights {
  extraSpecs: boolean;
  sensitive: boolean;
  qosSpecsId: boolean;
  isPublicKey: boolean;
}

/** Extra specs any reader may see (cinder/policies/type_extra_specs.py USER_VISIBLE_EXTRA_SPECS). */
export const USER_VISIBLE_EXTRA_SPECS = ['RESKEY:availability_zones', 'multiattach', 'replication_enabled'] as const;

export const READ_SENSITIVE = 'volume_extension:types_extra_specs:read_sensitive';

export const VolumeTypeExists = (name: string) => Conflict(`Volume Type ${name} already exists.`, 'volume.type_exists');
export const VolumeTypeExtraSpecsNotFound = (typeId: string, key: string) =>
  NotFound(`Volume Type ${typeId} has no extra specs with key ${key}.`);
export const VolumeTypeProjectDefaultNotFound = (projectId: string) => NotFound(`Default type for project ${projectId} not found.`);

export class TypesService {
  private readonly d: BlockStorageCoreDeps;

  constructor(d: BlockStorageCoreDeps) {
    this.d = d;
  }

  /** What the caller may see of types' views (fatal=False checks on the default target). */
  viewRights(ctx: RequestContext): TypeViewRights {
    const { authz } = this.d;
    return {
      extraSpecs: authz.check('volume_extension:access_types_extra_specs', ctx),
      sensitive: authz.check(READ_SENSITIVE, ctx),
      qosSpecsId: authz.check('volume_extension:access_types_qos_specs_id', ctx),
      isPublicKey: authz.check('volume_extension:volume_type_access', ctx),
    };
  }

  /** The extra specs a caller without read_sensitive sees: the user-visible ones only. */
  visibleSpecs(ctx: RequestContext, specs: Record<string, string>, sensitive = this.d.authz.check(READ_SENSITIVE, ctx)): Record<string, string> {
    if (sensitive) return specs;
    const out: Record<string, string> = {};
    for (const k of USER_VISIBLE_EXTRA_SPECS) if (k in specs) out[k] = specs[k]!;
    return out;
  }

  /** A live type the caller may see (Cinder's non-admin query: public, or its project has access). */
  async getRowOrThrow(ctx: RequestContext, id: string, db: Db = this.d.db): Promise<VolumeTypeRow> {
    const row = await selectTypeById(db, id);
    if (!row || !(await this.visible(ctx, row, db))) throw VolumeTypeNotFound(id);
    return row;
  }

  async getOrThrow(ctx: RequestContext, id: string): Promise<TypeDetail> {
    const row = await this.getRowOrThrow(ctx, id);
    return { row, extraSpecs: await extraSpecsOf(this.d.db, row.id) };
  }

  private async visible(ctx: RequestContext, row: VolumeTypeRow, db: Db): Promise<boolean> {
    return isAdmin(ctx) || !!row.is_public || (!!ctx.projectId && (await typeAccessible(db, row.id, ctx.projectId)));
  }

  /**
   * `GET /types/default`: the project's own default (which the caller must be able to see), else
   * cinder.conf's default_volume_type (500 when that type is missing, as Cinder's misconfiguration).
   */
  async getDefault(ctx: RequestContext): Promise<TypeDetail> {
    const own = ctx.projectId ? await selectProjectDefaultType(this.d.db, ctx.projectId) : undefined;
    if (own) return this.getOrThrow(ctx, own);
    const name = this.d.config.defaultVolumeType;
    const row = await selectTypeByName(this.d.db, name);
    if (!row) throw new InternalError(`The request cannot be fulfilled as the default volume type ${name} cannot be found.`, 'volume.default_type_misconfigured');
    return { row, extraSpecs: await extraSpecsOf(this.d.db, row.id) };
  }

  async list(q: TypeListQuery): Promise<TypeDetail[]> {
    const rows = await listTypeRows(this.d.db, q);
    const specs = await extraSpecsOfTypes(this.d.db, rows.map((r) => r.id));
    return rows.map((row) => ({ row, extraSpecs: specs.get(row.id) ?? {} }));
  }

  async markerOrThrow(ctx: RequestContext, id: string): Promise<VolumeTypeRow> {
    return this.getRowOrThrow(ctx, id);
  }

  async create(_ctx: RequestContext, input: CreateTypeInput): Promise<TypeDetail> {
    const now = this.d.clock.nowMs();
    const id = randomUUID();
    const specs = input.extraSpecs ?? {};
    await this.d.db.transaction().execute(async (trx) => {
      if (await selectTypeByName(trx, input.name)) throw VolumeTypeExists(input.name);
      await insertType(
        trx,
        { id, name: input.name, description: input.description ?? null, is_public: input.isPublic ? 1 : 0, qos_specs_id: null, created_at: now, updated_at: null, deleted: 0, deleted_at: null },
        specs,
      );
    });
    // a concurrent create of the same name can slip past the check above: the older one wins
    const winner = await this.d.db.selectFrom('volume_type').select('id').where('name', '=', input.name).where('deleted', '=', 0).orderBy('created_at').orderBy('id').executeTakeFirst();
    if (winner && winner.id !== id) {
      await deleteTypeRow(this.d.db, id, now);
      throw VolumeTypeExists(input.name);
    }
    return { row: (await selectTypeById(this.d.db, id))!, extraSpecs: await extraSpecsOf(this.d.db, id) };
  }

  async update(ctx: RequestContext, id: string, input: UpdateTypeInput): Promise<TypeDetail> {
    if (input.name !== undefined && input.name !== null && input.name.trim().length === 0) throw BadRequest('Volume type name can not be empty.');
    if ((input.name ?? null) === null && (input.description ?? null) === null && (input.isPublic ?? null) === null) {
      throw BadRequest('Specify volume type name, description, is_public or a combination thereof.');
    }
    await this.d.db.transaction().execute(async (trx) => {
      const old = await this.getRowOrThrow(ctx, id, trx);
      const set: Parameters<typeof updateTypeRow>[2] = { updated_at: this.d.clock.nowMs() };
      if (input.description !== undefined && input.description !== null) set.description = input.description;
      if (input.isPublic !== undefined && input.isPublic !== null) set.is_public = input.isPublic ? 1 : 0;
      if (input.name !== undefined && input.name !== null) {
        const other = await selectTypeByName(trx, input.name);
        if (other && other.id !== id) throw VolumeTypeExists(input.name);
        set.name = input.name;
      }
      await updateTypeRow(trx, id, set);
      // per-type quota resources follow the type's name (Cinder's QUOTAS.update_quota_resource)
      if (set.name !== undefined && set.name !== old.name) await renameTypeQuotaResources(trx, old.name, set.name);
    });
    return this.getOrThrow(ctx, id);
  }

  /**
   * Refuses the default types (a project's or cinder.conf's), the last type, and a type live
   * volumes use (Cinder's VolumeTypeInUse, which the API words "Target volume type is still in use.").
   */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const row = await this.getRowOrThrow(ctx, id);
    const defaultMsg = `The volume type ${row.id} is a default volume type and cannot be deleted.`;
    if ((await projectsWithDefaultType(this.d.db, row.id)).length) throw BadRequest(defaultMsg, 'volume.type_default');
    const conf = await selectTypeByName(this.d.db, this.d.config.defaultVolumeType);
    if (!conf) throw new InternalError(`The request cannot be fulfilled as the default volume type ${this.d.config.defaultVolumeType} cannot be found.`, 'volume.default_type_misconfigured');
    if (conf.id === row.id) throw BadRequest(defaultMsg, 'volume.type_default');
    await this.d.db.transaction().execute(async (trx) => {
      const live = await trx.selectFrom('volume_type').select((eb) => eb.fn.countAll<number>().as('n')).where('deleted', '=', 0).executeTakeFirst();
      if (Number(live?.n ?? 0) <= 1) throw BadRequest(`The volume type ${row.id} is the only currently defined volume type and cannot be deleted.`, 'volume.type_last');
      if (await typeInUse(trx, row.id)) throw BadRequest('Target volume type is still in use.', 'volume.type_in_use');
      await deleteTypeRow(trx, row.id, this.d.clock.nowMs());
    });
  }

  // ---- extra specs ---------------------------------------------------------------------------

  /** The extra specs the caller may see of a type it may see. */
  async specs(ctx: RequestContext, typeId: string): Promise<Record<string, string>> {
    await this.getRowOrThrow(ctx, typeId);
    return this.visibleSpecs(ctx, await extraSpecsOf(this.d.db, typeId));
  }

  async spec(ctx: RequestContext, typeId: string, key: string): Promise<string> {
    const specs = await this.specs(ctx, typeId);
    if (!(key in specs)) throw VolumeTypeExtraSpecsNotFound(typeId, key);
    return specs[key]!;
  }

  /**
   * Sets extra specs (create, and update of the one key `uriKey`); refused while volumes use the
   * type, and multiattach with cacheable (Cinder's _allow_update and _check_cacheable).
   */
  async setSpecs(ctx: RequestContext, typeId: string, specs: Record<string, string>, uriKey?: string): Promise<void> {
    await this.allowUpdate(typeId);
    await this.getRowOrThrow(ctx, typeId);
    if (uriKey !== undefined && !(uriKey in specs)) throw BadRequest('Request body and URI mismatch', 'volume.uri_mismatch');
    const current = await extraSpecsOf(this.d.db, typeId);
    const yes = '<is> True';
    // COMPAT(cinder): updating one key checks cacheable only for a key named extra_specs, i.e. never
    if (
      uriKey === undefined &&
      ((specs.multiattach === yes && current.cacheable === yes) ||
      (specs.cacheable === yes && current.multiattach === yes) ||
        (specs.cacheable === yes && specs.multiattach === yes))
    ) {
      throw BadRequest('cacheable cannot be set with multiattach.');
    }
    await this.d.db.transaction().execute(async (trx) => {
      await upsertExtraSpecs(trx, typeId, specs);
      await updateTypeRow(trx, typeId, { updated_at: this.d.clock.nowMs() });
    });
  }

  /** The type's existence is checked by the route's target (before policy, as Cinder does). */
  async deleteSpec(_ctx: RequestContext, typeId: string, key: string): Promise<void> {
    await this.allowUpdate(typeId);
    if (!(await deleteExtraSpec(this.d.db, typeId, key))) throw VolumeTypeExtraSpecsNotFound(typeId, key);
  }

  private async allowUpdate(typeId: string): Promise<void> {
    if (await typeInUse(this.d.db, typeId)) throw BadRequest('Volume Type is currently in use.', 'volume.type_in_use');
  }

  // ---- access to private types ---------------------------------------------------------------

  async accessList(ctx: RequestContext, typeId: string): Promise<string[]> {
    const row = await this.getRowOrThrow(ctx, typeId);
    if (row.is_public) throw NotFound('Access list not available for public volume types.');
    return typeAccessProjects(this.d.db, typeId);
  }

  async addAccess(_ctx: RequestContext, typeId: string, projectId: string): Promise<void> {
    await this.privateTypeOrThrow(typeId);
    if (!(await insertTypeAccess(this.d.db, typeId, projectId))) {
      throw Conflict(`Volume type access for ${typeId} / ${projectId} combination already exists.`, 'volume.type_access_exists');
    }
  }

  async removeAccess(_ctx: RequestContext, typeId: string, projectId: string): Promise<void> {
    await this.privateTypeOrThrow(typeId);
    if (!(await deleteTypeAccess(this.d.db, typeId, projectId))) {
      throw NotFound(`Volume type access not found for ${typeId} / ${projectId} combination.`);
    }
  }

  /** Cinder reads the type elevated here: any live type, but access lists belong to private ones. */
  private async privateTypeOrThrow(typeId: string): Promise<VolumeTypeRow> {
    const row = await selectTypeById(this.d.db, typeId);
    if (!row) throw VolumeTypeNotFound(typeId);
    if (row.is_public) throw InvalidVolumeType('Type access modification is not applicable to public volume type.');
    return row;
  }

  // ---- per-project default types (3.62) ------------------------------------------------------

  /** Sets the project's default to a type named by name or id (unknown: 400 with the 404's words). */
  async setProjectDefault(ctx: RequestContext, projectId: string, typeRef: string): Promise<DefaultTypeRow> {
    let row: VolumeTypeRow | undefined;
    if (looksLikeUuid(typeRef)) row = (await selectTypeById(this.d.db, typeRef)) ?? (await selectTypeByName(this.d.db, typeRef));
    else row = await selectTypeByName(this.d.db, typeRef);
    if (row && !(await this.visible(ctx, row, this.d.db))) row = undefined;
    if (!row) throw BadRequest(looksLikeUuid(typeRef) ? VolumeTypeNotFound(typeRef).message : VolumeTypeNotFoundByName(typeRef).message, 'volume.type_not_found');
    await upsertDefaultType(this.d.db, projectId, row.id, this.d.clock.nowMs());
    return (await selectDefaultTypeRow(this.d.db, projectId))!;
  }

  async projectDefault(projectId: string): Promise<DefaultTypeRow> {
    const row = await selectDefaultTypeRow(this.d.db, projectId);
    if (!row) throw VolumeTypeProjectDefaultNotFound(projectId);
    return row;
  }

  async projectDefaults(): Promise<DefaultTypeRow[]> {
    return listDefaultTypes(this.d.db);
  }

  async unsetProjectDefault(projectId: string): Promise<void> {
    await deleteDefaultType(this.d.db, projectId);
  }
}
