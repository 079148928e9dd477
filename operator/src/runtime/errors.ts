// Typed reconcile errors decide whether and when a key is retried (Flux's Stalling/Waiting/Generic split):
//   StallingError  the spec is wrong; retrying cannot help. No requeue until the object changes (a watch event).
//   WaitingError   something else must happen first (a dependency becomes Ready); retry after `retryAfterMs`.
//   anything else  transient; retry with exponential backoff and jitter.
// Every error carries a stable `code` (docs/api.md lists them; errors.test.ts keeps list and docs in step).

export const OperatorErrorCode = {
  Stalling: 'SFTPGATE_OPERATOR_STALLING',
  Waiting: 'SFTPGATE_OPERATOR_WAITING',
  /** The API server answered with an error status (see `status`). */
  Api: 'SFTPGATE_OPERATOR_API',
  /** The API server could not be reached or the connection broke. */
  ApiUnavailable: 'SFTPGATE_OPERATOR_API_UNAVAILABLE',
  /** A watch ended with 410 Gone: the informer must relist. */
  WatchExpired: 'SFTPGATE_OPERATOR_WATCH_EXPIRED',
  /** The watchdog saw no event or bookmark for too long and restarted the watch. */
  WatchStalled: 'SFTPGATE_OPERATOR_WATCH_STALLED',
  /** This replica lost the leader Lease; reconciling stops. */
  LeadershipLost: 'SFTPGATE_OPERATOR_LEADERSHIP_LOST',
  /** The operation was cancelled through its AbortSignal (shutdown). */
  Aborted: 'SFTPGATE_OPERATOR_ABORTED',
} as const;
export type OperatorErrorCode = (typeof OperatorErrorCode)[keyof typeof OperatorErrorCode];

export class OperatorError extends Error {
  readonly code: OperatorErrorCode;
  constructor(code: OperatorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OperatorError';
    this.code = code;
  }
}

/**
 * The object's spec cannot work as written. `reason` becomes the Ready condition's reason (CamelCase, see
 * api/conditions.ts) and the message its message, so it must be readable and free of secrets.
 */
export class StallingError extends OperatorError {
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(OperatorErrorCode.Stalling, message, options);
    this.name = 'StallingError';
    this.reason = reason;
  }
}

/** Not an error in the spec: something must happen first. The key is retried after `retryAfterMs`. */
export class WaitingError extends OperatorError {
  readonly reason: string;
  readonly retryAfterMs: number;
  constructor(reason: string, message: string, retryAfterMs: number, options?: { cause?: unknown }) {
    super(OperatorErrorCode.Waiting, message, options);
    this.name = 'WaitingError';
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

/** An error status from the API server; `status` is the HTTP code, `reason` the Status object's reason. */
export class ApiError extends OperatorError {
  readonly status: number;
  readonly reason: string;
  readonly verb: string;
  readonly path: string;
  constructor(
    status: number,
    reason: string,
    message: string,
    verb: string,
    path: string,
    options?: { cause?: unknown },
  ) {
    super(OperatorErrorCode.Api, `${verb} ${path}: ${status} ${reason}: ${message}`, options);
    this.name = 'ApiError';
    this.status = status;
    this.reason = reason;
    this.verb = verb;
    this.path = path;
  }
}

export function isApiError(err: unknown, status?: number): err is ApiError {
  return err instanceof ApiError && (status === undefined || err.status === status);
}
export const isNotFound = (err: unknown): boolean => isApiError(err, 404);
export const isConflict = (err: unknown): boolean => isApiError(err, 409);
export const isGone = (err: unknown): boolean => isApiError(err, 410);
export const isInvalid = (err: unknown): boolean => isApiError(err, 422);

/** How the controller treats a failed reconcile. */
export type RetryDecision =
  | { kind: 'stalling'; reason: string }
  | { kind: 'waiting'; reason: string; delayMs: number }
  | { kind: 'backoff'; reason: string };

/** Maps any thrown value to a retry decision; `reason` is a bounded metric label. */
export function classifyError(err: unknown): RetryDecision {
  if (err instanceof StallingError) return { kind: 'stalling', reason: err.reason };
  if (err instanceof WaitingError) return { kind: 'waiting', reason: err.reason, delayMs: err.retryAfterMs };
  // A 422 from the API server on something we built is a bug in our desired object: retrying without a spec change
  // would repeat it, but a code fix plus restart clears it, so back off instead of stalling silently.
  if (err instanceof ApiError) return { kind: 'backoff', reason: `Api${err.status}` };
  if (err instanceof OperatorError) return { kind: 'backoff', reason: err.code.replace('SFTPGATE_OPERATOR_', '') };
  return { kind: 'backoff', reason: 'Error' };
}
