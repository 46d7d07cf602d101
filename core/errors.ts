/**
 * The core's one error family. Every error a caller may need to turn into an
 * HTTP status or a runner decision is a `CoreError` carrying its `status`;
 * anything else is a bug and is reported as a generic 500 without details.
 */
export interface FieldIssue {
  /** Dotted path of the offending field, `''` for the whole body. */
  path: string;
  message: string;
}

export class CoreError extends Error {
  override name = 'CoreError';
  constructor(
    message: string,
    /** The HTTP status this error maps to. */
    public readonly status: number,
    /** Per-field problems, for validation errors. */
    public readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

/** The request is malformed or names something impossible (400). */
export class ValidationError extends CoreError {
  override name = 'ValidationError';
  constructor(message: string, issues: FieldIssue[] = []) {
    super(message, 400, issues);
  }
}

/** The named entity does not exist (404). */
export class NotFoundError extends CoreError {
  override name = 'NotFoundError';
  constructor(entity: string, id: string | number) {
    super(`${entity} ${JSON.stringify(id)} not found`, 404);
  }
}

/** The request conflicts with the current state, e.g. a duplicate name (409). */
export class ConflictError extends CoreError {
  override name = 'ConflictError';
  constructor(message: string) {
    super(message, 409);
  }
}

/** The body is larger than one request may carry (413). */
export class PayloadTooLargeError extends CoreError {
  override name = 'PayloadTooLargeError';
  constructor(message: string) {
    super(message, 413);
  }
}

/**
 * Something the request needs is unavailable for a moment (the database
 * resuming from pause, a secret that cannot be read): 503 with Retry-After,
 * so clients try again instead of giving up. `cause` is logged, never shown.
 */
export class UnavailableError extends CoreError {
  override name = 'UnavailableError';
  constructor(
    message: string,
    /** Seconds a client should wait before trying again. */
    public readonly retryAfterSec: number,
    cause?: unknown,
  ) {
    super(`${message}; try again in ${retryAfterSec} s`, 503);
    if (cause !== undefined) this.cause = cause;
  }
}

/** A configuration value is missing or wrong; start-up stops with this message. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    public readonly variable: string,
    detail: string,
  ) {
    super(`${variable}: ${detail}`);
  }
}
