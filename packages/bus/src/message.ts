// The wire format, as oslo.messaging writes it: the 2.0 envelope, RPC requests and replies, remote errors, notifications, packed context.
import {
  AltoError,
  ConflictError,
  ForbiddenError,
  InternalError,
  NotFoundError,
  PayloadTooLargeError,
  QuotaExceededError,
  ServiceUnavailableError,
  TimeoutError,
  UnauthorizedError,
  ValidationError,
  isJsonObject,
  type ErrorKind,
  type JsonObject,
  type JsonValue,
  type RequestContext,
} from '@alto/kernel';
import { NOTIFICATION_PRIORITIES, type NotificationPriority } from './bus.js';

const VERSION_KEY = 'oslo.version';
const MESSAGE_KEY = 'oslo.message';
const ENVELOPE_VERSION = '2.0';

/** Wraps a message in oslo's 2.0 envelope: the message travels as a JSON string inside a JSON object. */
export function envelope(message: JsonObject): string {
  return JSON.stringify({ [VERSION_KEY]: ENVELOPE_VERSION, [MESSAGE_KEY]: JSON.stringify(message) });
}

/** Unwraps a 2.0 envelope; a bare object is a 1.0 message, which oslo still accepts. */
export function openEnvelope(body: string): JsonObject {
  const outer: unknown = JSON.parse(body);
  if (!isJsonObject(outer)) throw new Error('message body is not a JSON object');
  if (!(VERSION_KEY in outer)) return outer;
  if (outer[VERSION_KEY] !== ENVELOPE_VERSION) throw new Error(`unsupported envelope version ${JSON.stringify(outer[VERSION_KEY])}`);
  const inner = outer[MESSAGE_KEY];
  if (typeof inner !== 'string') throw new Error('envelope without oslo.message');
  const msg: unknown = JSON.parse(inner);
  if (!isJsonObject(msg)) throw new Error('oslo.message is not a JSON object');
  return msg;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object' && value !== null) return (value.constructor as { name?: string } | undefined)?.name ?? 'object';
  return typeof value;
}

/**
 * Throws ValidationError `bus.not_json` unless the value survives JSON unchanged: plain objects,
 * arrays, strings, finite numbers, booleans, null. Object properties that are `undefined` are
 * allowed and dropped, as JSON.stringify does; anything else (Date, Map, class instances,
 * functions, bigint, NaN, cycles) would arrive as something else, so it is refused.
 */
export function assertJson(value: unknown, where: string): void {
  const stack = new Set<object>();
  const walk = (v: unknown, path: string): void => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (Number.isFinite(v)) return;
    } else if (Array.isArray(v)) {
      if (stack.has(v)) throw new ValidationError(`${path} is not JSON (cycle)`, 'bus.not_json');
      stack.add(v);
      v.forEach((item, i) => walk(item, `${path}[${i}]`));
      stack.delete(v);
      return;
    } else if (typeof v === 'object') {
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) {
        if (stack.has(v)) throw new ValidationError(`${path} is not JSON (cycle)`, 'bus.not_json');
        stack.add(v);
        for (const [k, item] of Object.entries(v)) {
          if (item !== undefined) walk(item, `${path}.${k}`);
        }
        stack.delete(v);
        return;
      }
    }
    throw new ValidationError(`${path} is not JSON (${describe(v)})`, 'bus.not_json');
  };
  walk(value, where);
}

/** Arguments must be a JSON object (oslo's kwargs). */
export function assertJsonObject(value: unknown, where: string): asserts value is JsonObject {
  if (!isJsonObject(value) || Array.isArray(value)) throw new ValidationError(`${where} must be a JSON object`, 'bus.not_json');
  assertJson(value, where);
}

// ---- context -------------------------------------------------------------------------------

export interface Origin {
  requestId: string;
  context: RequestContext | undefined;
}

const CONTEXT_PREFIX = '_context_';

/** RequestContext in oslo.context's to_dict() shape (with Nova's user_id/project_id aliases). */
export function contextToDict(ctx: RequestContext, opts: { withToken: boolean }): JsonObject {
  const d: Record<string, JsonValue | undefined> = {
    request_id: ctx.requestId,
    global_request_id: ctx.globalRequestId ?? null,
    user: ctx.userId ?? null,
    user_id: ctx.userId ?? null,
    user_name: ctx.userName ?? null,
    user_domain: ctx.userDomainId ?? null,
    user_domain_name: ctx.userDomainName ?? null,
    tenant: ctx.projectId ?? null,
    project: ctx.projectId ?? null,
    project_id: ctx.projectId ?? null,
    project_name: ctx.projectName ?? null,
    project_domain: ctx.projectDomainId ?? null,
    project_domain_name: ctx.projectDomainName ?? null,
    domain: ctx.domainId ?? null,
    domain_name: ctx.domainName ?? null,
    system_scope: ctx.systemScope ?? null,
    roles: [...ctx.roles],
    is_admin_project: ctx.isAdminProject,
    user_identity: [ctx.userId, ctx.projectId, ctx.domainId, ctx.userDomainId, ctx.projectDomainId].map((v) => v ?? '-').join(' '),
    service_user_id: ctx.serviceUserId ?? null,
    service_user_domain_id: ctx.serviceUserDomainId ?? null,
    service_project_id: ctx.serviceProjectId ?? null,
    service_project_domain_id: ctx.serviceProjectDomainId ?? null,
    service_roles: [...ctx.serviceRoles],
    application_credential_id: ctx.applicationCredentialId ?? null,
    trust_id: ctx.trustId ?? null,
    auth_methods: ctx.authMethods ? [...ctx.authMethods] : null,
    audit_ids: ctx.auditIds ? [...ctx.auditIds] : null,
    token_expires_at: ctx.tokenExpiresAt ? ctx.tokenExpiresAt.toISOString() : null,
  };
  // The token lets a worker act on the caller's behalf (as Nova's does); notifications leave the
  // trust boundary (ceilometer, external consumers), so they never carry it.
  if (opts.withToken && ctx.authToken !== undefined) d.auth_token = ctx.authToken;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(d)) if (v !== undefined) out[k] = v;
  return out;
}

const str = (v: JsonValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const strList = (v: JsonValue | undefined): string[] | undefined =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;

export function contextFromDict(d: JsonObject, requestId: string): RequestContext {
  const expires = str(d.token_expires_at);
  const expiresAt = expires === undefined ? undefined : new Date(expires);
  const ctx: RequestContext = {
    requestId,
    globalRequestId: str(d.global_request_id),
    authToken: str(d.auth_token),
    userId: str(d.user_id) ?? str(d.user),
    userName: str(d.user_name),
    userDomainId: str(d.user_domain),
    userDomainName: str(d.user_domain_name),
    projectId: str(d.project_id) ?? str(d.project) ?? str(d.tenant),
    projectName: str(d.project_name),
    projectDomainId: str(d.project_domain),
    projectDomainName: str(d.project_domain_name),
    domainId: str(d.domain),
    domainName: str(d.domain_name),
    systemScope: d.system_scope === 'all' ? 'all' : undefined,
    roles: strList(d.roles) ?? [],
    isAdminProject: d.is_admin_project === true,
    serviceUserId: str(d.service_user_id),
    serviceUserDomainId: str(d.service_user_domain_id),
    serviceProjectId: str(d.service_project_id),
    serviceProjectDomainId: str(d.service_project_domain_id),
    serviceRoles: strList(d.service_roles) ?? [],
    applicationCredentialId: str(d.application_credential_id),
    trustId: str(d.trust_id),
    authMethods: strList(d.auth_methods),
    auditIds: strList(d.audit_ids),
    tokenExpiresAt: expiresAt && !Number.isNaN(expiresAt.getTime()) ? expiresAt : undefined,
  };
  // absent stays absent (no `key: undefined`), so a context survives the trip deep-equal
  for (const k of Object.keys(ctx) as (keyof RequestContext)[]) if (ctx[k] === undefined) delete ctx[k];
  return ctx;
}

/** oslo's pack_context: every context key travels as a top-level `_context_<key>`. */
function packContext(msg: JsonObject, origin: Origin, withToken: boolean): void {
  const dict: JsonObject = origin.context
    ? { ...contextToDict(origin.context, { withToken }), request_id: origin.requestId }
    : { request_id: origin.requestId };
  for (const [k, v] of Object.entries(dict)) msg[CONTEXT_PREFIX + k] = v;
}

/** oslo's unpack_context. A full context is recognised by its roles (a bare request id has none). */
function unpackContext(msg: JsonObject): { requestId: string | undefined; context: RequestContext | undefined } {
  const dict: JsonObject = {};
  for (const [k, v] of Object.entries(msg)) if (k.startsWith(CONTEXT_PREFIX)) dict[k.slice(CONTEXT_PREFIX.length)] = v;
  const requestId = str(dict.request_id);
  const context = requestId !== undefined && Array.isArray(dict.roles) ? contextFromDict(dict, requestId) : undefined;
  return { requestId, context };
}

// ---- RPC -----------------------------------------------------------------------------------

export interface RpcMessage {
  method: string;
  args: JsonObject;
  /** Set for calls: the id the reply carries. */
  msgId: string | undefined;
  /** Set for calls: the queue the reply goes to. */
  replyQueue: string | undefined;
  uniqueId: string | undefined;
  requestId: string | undefined;
  context: RequestContext | undefined;
}

export function buildRpcMessage(m: {
  method: string;
  args: JsonObject;
  uniqueId: string;
  origin: Origin;
  call?: { msgId: string; replyQueue: string } | undefined;
}): JsonObject {
  const msg: JsonObject = { method: m.method, args: m.args };
  if (m.call) {
    msg._msg_id = m.call.msgId;
    msg._reply_q = m.call.replyQueue;
    // oslo's call_monitor_timeout; we do not send call-monitor heartbeats
    msg._timeout = null;
  }
  msg._unique_id = m.uniqueId;
  packContext(msg, m.origin, true);
  return msg;
}

export function parseRpcMessage(msg: JsonObject): RpcMessage {
  const method = msg.method;
  if (typeof method !== 'string') throw new Error('RPC message without a method');
  const args = msg.args ?? {};
  if (!isJsonObject(args) || Array.isArray(args)) throw new Error('RPC message args is not an object');
  return {
    method,
    args,
    msgId: str(msg._msg_id),
    replyQueue: str(msg._reply_q),
    uniqueId: str(msg._unique_id),
    ...unpackContext(msg),
  };
}

// ---- replies and remote errors ---------------------------------------------------------------

export interface Reply {
  msgId: string | undefined;
  result: JsonValue;
  /** oslo's serialised remote exception, when the handler failed. */
  failure: string | null;
  ending: boolean;
}

export function buildReply(r: { msgId: string; uniqueId: string; result: JsonValue; failure: string | null }): JsonObject {
  return { result: r.result, failure: r.failure, ending: true, _msg_id: r.msgId, _unique_id: r.uniqueId };
}

export function parseReply(msg: JsonObject): Reply {
  const failure = msg.failure;
  return {
    msgId: str(msg._msg_id),
    result: msg.result ?? null,
    failure: typeof failure === 'string' ? failure : null,
    ending: msg.ending === true,
  };
}

/** The message callers see when a handler failed with something that is not an AltoError. */
export const GENERIC_REMOTE_ERROR_CODE = 'bus.remote_error';

/**
 * oslo's serialize_remote_exception shape ({class, module, message, tb, args, kwargs}), with the
 * AltoError's kind, code and details in kwargs. The traceback is never sent.
 */
export function serializeFailure(err: AltoError): string {
  const kwargs: JsonObject = { kind: err.kind, code: err.code };
  if (err.details !== undefined) kwargs.details = err.details;
  return JSON.stringify({ class: err.name, module: 'alto', message: err.message, tb: [], args: [err.message], kwargs });
}

const KINDS: ReadonlySet<string> = new Set<ErrorKind>([
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'not_acceptable',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'quota_exceeded',
  'too_many_requests',
  'internal',
  'service_unavailable',
  'timeout',
]);

/** An error of the same kind, code, message and details as the remote one (as the kernel class for that kind). */
export function deserializeFailure(text: string): AltoError {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return new InternalError(undefined, GENERIC_REMOTE_ERROR_CODE);
  }
  if (!isJsonObject(data)) return new InternalError(undefined, GENERIC_REMOTE_ERROR_CODE);
  const kwargs = isJsonObject(data.kwargs) ? data.kwargs : {};
  const kind = kwargs.kind;
  const code = kwargs.code;
  const message = data.message;
  if (typeof kind !== 'string' || !KINDS.has(kind) || typeof code !== 'string' || typeof message !== 'string') {
    // a failure from something that is not us (e.g. a Python oslo server): do not pass its text on
    return new InternalError(undefined, GENERIC_REMOTE_ERROR_CODE);
  }
  const opts = isJsonObject(kwargs.details) && !Array.isArray(kwargs.details) ? { details: kwargs.details } : {};
  switch (kind as ErrorKind) {
    case 'bad_request':
      return new ValidationError(message, code, opts);
    case 'unauthorized':
      return new UnauthorizedError(message, code, opts);
    case 'forbidden':
      return new ForbiddenError(message, code, opts);
    case 'not_found':
      return new NotFoundError(message, code, opts);
    case 'conflict':
      return new ConflictError(message, code, opts);
    case 'payload_too_large':
      return new PayloadTooLargeError(message, code, opts);
    case 'quota_exceeded':
      return new QuotaExceededError(message, code, opts);
    case 'service_unavailable':
      return new ServiceUnavailableError(message, code, opts);
    case 'timeout':
      return new TimeoutError(message, code, opts);
    case 'internal':
      return new InternalError(message, code, opts);
    default:
      return new AltoError(kind as ErrorKind, code, message, opts);
  }
}

// ---- notifications -------------------------------------------------------------------------

/** Python's str(datetime) for a UTC instant: `YYYY-MM-DD HH:MM:SS[.ffffff]`, as oslo's notifier stamps them. */
export function osloTimestamp(d: Date): string {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const ms = d.getUTCMilliseconds();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms === 0 ? '' : `.${String(ms * 1000).padStart(6, '0')}`}`;
}

export interface WireNotification {
  messageId: string;
  publisherId: string;
  eventType: string;
  priority: NotificationPriority;
  payload: JsonValue;
  timestamp: string;
}

export function buildNotification(n: WireNotification & { uniqueId: string; origin: Origin }): JsonObject {
  const msg: JsonObject = {
    message_id: n.messageId,
    publisher_id: n.publisherId,
    event_type: n.eventType,
    priority: n.priority,
    payload: n.payload,
    timestamp: n.timestamp,
    _unique_id: n.uniqueId,
  };
  packContext(msg, n.origin, false);
  return msg;
}

export function isPriority(p: string): p is NotificationPriority {
  return (NOTIFICATION_PRIORITIES as readonly string[]).includes(p);
}

export function parseNotification(msg: JsonObject): WireNotification & { requestId: string | undefined; context: RequestContext | undefined } {
  const s = (k: string): string => {
    const v = msg[k];
    if (typeof v !== 'string') throw new Error(`notification without ${k}`);
    return v;
  };
  const priority = s('priority').toUpperCase();
  if (!isPriority(priority)) throw new Error(`notification with unknown priority ${priority}`);
  return {
    messageId: s('message_id'),
    publisherId: s('publisher_id'),
    eventType: s('event_type'),
    priority,
    payload: msg.payload ?? null,
    timestamp: s('timestamp'),
    ...unpackContext(msg),
  };
}
