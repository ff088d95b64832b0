// User messages: recorded when asynchronous work fails (who, what was being done, why), listed,
// shown and deleted by their project (cinder/message/api.py and the messages controller).
import type { RequestContext } from '@alto/kernel';
import type { SortSpec } from '../store/keyset.js';
import { deleteExpiredMessages, deleteMessageRow, insertMessage, listMessageRows, MESSAGE_COLUMNS, selectMessage, type MessageRow } from '../store/message.repo.js';
import { isAdmin, type BlockStorageCoreDeps } from './deps.js';
import { BadRequest, MessageNotFound } from './errors.js';
import { translateDetailId, type MessageField, type MessageResource } from './message-fields.js';

/** The filters a non-admin may use (Cinder's resource_filters.json for `message`). */
export const USER_MESSAGE_FILTERS = ['resource_uuid', 'resource_type', 'event_id', 'request_id', 'message_level'];

export interface RecordMessageInput {
  projectId: string;
  resourceType: MessageResource;
  resourceUuid?: string | null;
  action: MessageField;
  /** The detail to record unless the error's name maps to a more precise one. */
  detail?: MessageField | null;
  /** The failure's name (NoValidBackend, SnapshotIsBusy ...), mapped to a detail as Cinder does. */
  errorName?: string | null;
  requestId?: string | null;
}

export interface ListMessagesInput {
  /** The query's filters (pagination and sort keys removed); undefined before 3.5 (none apply). */
  filters?: Record<string, string> | undefined;
  /** 3.31+: filters are checked against the allowed list (non-admins). */
  checkFilters: boolean;
  /** 3.34+: `key~` may name a like filter when `key~` is allowed. */
  likeFilters: boolean;
  sort: SortSpec[];
  markerId?: string | undefined;
  limit: number;
  offset?: number;
}

export class MessagesService {
  private readonly d: BlockStorageCoreDeps;

  constructor(d: BlockStorageCoreDeps) {
    this.d = d;
  }

  /** Records a message that lives message_ttl seconds; returns its id. */
  async record(m: RecordMessageInput): Promise<string> {
    return insertMessage(this.d.db, {
      projectId: m.projectId,
      resourceType: m.resourceType,
      resourceUuid: m.resourceUuid ?? null,
      actionId: m.action.id,
      detailId: translateDetailId(m.errorName, m.detail),
      requestId: m.requestId ?? null,
      nowMs: this.d.clock.nowMs(),
      ttlMs: this.d.config.messageTtlSeconds * 1000,
    });
  }

  /** A live message of the caller's project (any project for admins), or MessageNotFound. */
  async getOrThrow(ctx: RequestContext, id: string): Promise<MessageRow> {
    const row = await selectMessage(this.d.db, id, this.d.clock.nowMs(), isAdmin(ctx) ? undefined : (ctx.projectId ?? ''));
    if (!row) throw MessageNotFound(id);
    return row;
  }

  /** Cinder's target for message:get and message:delete: the message, owned by its project. */
  target(row: MessageRow): Record<string, unknown> {
    return { ...row, project_id: row.project_id };
  }

  async list(ctx: RequestContext, input: ListMessagesInput): Promise<MessageRow[]> {
    const filters = { ...(input.filters ?? {}) };
    if (input.checkFilters && !isAdmin(ctx)) {
      // COMPAT(cinder bug 1917574): cinderclient always sends all_tenants; a non-admin's is ignored
      delete filters.all_tenants;
      const invalid = Object.keys(filters).filter((k) => !(USER_MESSAGE_FILTERS.includes(k) || (input.likeFilters && USER_MESSAGE_FILTERS.includes(`${k}~`))));
      if (invalid.length) throw BadRequest(`Invalid filters ${invalid.join(',')} are found in query options.`);
    }
    // COMPAT(cinder is_valid_model_filters): a key that is no column of the message matches nothing
    if (Object.keys(filters).some((k) => !MESSAGE_COLUMNS.has(k.replace(/~+$/, '')))) return [];
    const nowMs = this.d.clock.nowMs();
    // Cinder's list query forgets project_only (db message_get_all), so its users see every
    // project's messages; we keep lists to the caller's project as show and delete are
    const projectId = isAdmin(ctx) ? undefined : (ctx.projectId ?? '');
    const marker = input.markerId === undefined ? undefined : await this.getOrThrow(ctx, input.markerId);
    return listMessageRows(this.d.db, { projectId, nowMs, filters, sort: input.sort, marker, limit: input.limit, ...(input.offset ? { offset: input.offset } : {}) });
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const row = await this.getOrThrow(ctx, id);
    if (!(await deleteMessageRow(this.d.db, row.id, this.d.clock.nowMs()))) throw MessageNotFound(id);
  }

  /** Drops expired messages (the scheduler's periodic clean_expired_messages); how many went. */
  async cleanupExpired(): Promise<number> {
    return deleteExpiredMessages(this.d.db, this.d.clock.nowMs());
  }
}
