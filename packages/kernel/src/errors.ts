// The domain error taxonomy. Services throw these; each HTTP service renders them in its own
// upstream envelope. An error knows its kind (which decides the status) and a stable code, never
// an HTTP body.
import type { JsonObject } from './json.js';

export type ErrorKind =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'not_acceptable'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'quota_exceeded'
  | 'too_many_requests'
  | 'internal'
  | 'service_unavailable'
  | 'timeout';

export interface ErrorOptions {
  cause?: unknown;
  /** Extra machine-readable detail; renderers may show it. Never secrets. */
  details?: JsonObject;
}

export class AltoError extends Error {
  readonly kind: ErrorKind;
  /** Stable identifier such as `identity.project_not_found`; tests and logs key on it. */
  readonly code: string;
  readonly details: JsonObject | undefined;

  constructor(kind: ErrorKind, code: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.code = code;
    this.details = options.details;
  }
}

export class ValidationError extends AltoError {
  constructor(message: string, code = 'validation_failed', options?: ErrorOptions) {
    super('bad_request', code, message, options);
  }
}

export class UnauthorizedError extends AltoError {
  constructor(message = 'The request you have made requires authentication.', code = 'unauthorized', options?: ErrorOptions) {
    super('unauthorized', code, message, options);
  }
}

export class ForbiddenError extends AltoError {
  constructor(message = 'You are not authorized to perform the requested action.', code = 'forbidden', options?: ErrorOptions) {
    super('forbidden', code, message, options);
  }
}

export class NotFoundError extends AltoError {
  constructor(message: string, code = 'not_found', options?: ErrorOptions) {
    super('not_found', code, message, options);
  }
}

export class ConflictError extends AltoError {
  constructor(message: string, code = 'conflict', options?: ErrorOptions) {
    super('conflict', code, message, options);
  }
}

export class PayloadTooLargeError extends AltoError {
  constructor(message = 'Request is too large.', code = 'payload_too_large', options?: ErrorOptions) {
    super('payload_too_large', code, message, options);
  }
}

export class QuotaExceededError extends AltoError {
  constructor(message: string, code = 'quota_exceeded', options?: ErrorOptions) {
    super('quota_exceeded', code, message, options);
  }
}

export class ServiceUnavailableError extends AltoError {
  constructor(message: string, code = 'service_unavailable', options?: ErrorOptions) {
    super('service_unavailable', code, message, options);
  }
}

export class TimeoutError extends AltoError {
  constructor(message: string, code = 'timeout', options?: ErrorOptions) {
    super('timeout', code, message, options);
  }
}

export class InternalError extends AltoError {
  constructor(message = 'An unexpected error prevented the server from fulfilling your request.', code = 'internal', options?: ErrorOptions) {
    super('internal', code, message, options);
  }
}

export function isAltoError(err: unknown): err is AltoError {
  return err instanceof AltoError;
}
