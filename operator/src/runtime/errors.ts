// Typed reconcile errors decide whether and when a key is retried (Flux's Stalling/Waiting/Generic split):
//   StallingError  the spec is wrong; retrying cannot help. No requeue until the object changes (a watch event).
//   WaitingError   something else must happen first (a dependency becomes Ready); retry after `retryAfterMs`.
//   anything else  transient; retry with exponential backoff and jitter.
// Every error carries a stable `code` (docs/api.md lists them; errors.test.ts keeps list and docs in step).

import { CodedError } from '../../../common/src/errors/coded-error.ts';
import { ApiError, KubeError, KubeErrorCode } from '../../../common/src/kube/errors.ts';

export {
  ApiError,
  isApiError,
  isConflict,
  isGone,
  isInvalid,
  isNotFound,
  KubeError,
  KubeErrorCode,
} from '../../../common/src/kube/errors.ts';

export const OperatorErrorCode = {
  Stalling: 'SFTPGATE_OPERATOR_STALLING',
  Waiting: 'SFTPGATE_OPERATOR_WAITING',
  /** The API client's codes (common/src/kube/errors.ts): Api, ApiUnavailable, WatchExpired, WatchStalled, Aborted. */
  ...KubeErrorCode,
  /** This replica lost the leader Lease; reconciling stops. */
  LeadershipLost: 'SFTPGATE_OPERATOR_LEADERSHIP_LOST',
} as const;
export type OperatorErrorCode = (typeof OperatorErrorCode)[keyof typeof OperatorErrorCode];

export class OperatorError extends CodedError<OperatorErrorCode> {}

/**
 * The object's spec cannot work as written. `reason` becomes the Ready condition's reason (CamelCase, see
 * api/conditions.ts) and the message its message, so it must be readable and free of secrets.
 */
export class StallingError extends OperatorError {
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(OperatorErrorCode.Stalling, message, options);
    this.reason = reason;
  }
}

/** Not an error in the spec: something must happen first. The key is retried after `retryAfterMs`. */
export class WaitingError extends OperatorError {
  readonly reason: string;
  readonly retryAfterMs: number;
  constructor(reason: string, message: string, retryAfterMs: number, options?: { cause?: unknown }) {
    super(OperatorErrorCode.Waiting, message, options);
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

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
  if (err instanceof OperatorError || err instanceof KubeError) {
    return { kind: 'backoff', reason: err.code.replace('SFTPGATE_OPERATOR_', '') };
  }
  return { kind: 'backoff', reason: 'Error' };
}
