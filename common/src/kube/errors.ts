// Errors of the Kubernetes client and informer, shared by the operator and the sftp pod. The codes predate common/
// (they were the operator's) and stay as they are: they are documented (docs/api.md), logged and turned into metric
// reasons, so renaming them would break dashboards and log queries for no gain.
import { CodedError } from '../errors/coded-error.ts';

export const KubeErrorCode = {
  /** The API server answered with an error status (see `status`). */
  Api: 'SFTPGATE_OPERATOR_API',
  /** The API server could not be reached or the connection broke. */
  ApiUnavailable: 'SFTPGATE_OPERATOR_API_UNAVAILABLE',
  /** A watch ended with 410 Gone: the informer must relist. */
  WatchExpired: 'SFTPGATE_OPERATOR_WATCH_EXPIRED',
  /** The watchdog saw no event or bookmark for too long and restarted the watch. */
  WatchStalled: 'SFTPGATE_OPERATOR_WATCH_STALLED',
  /** The operation was cancelled through its AbortSignal (shutdown). */
  Aborted: 'SFTPGATE_OPERATOR_ABORTED',
} as const;
export type KubeErrorCode = (typeof KubeErrorCode)[keyof typeof KubeErrorCode];

export class KubeError extends CodedError<KubeErrorCode> {}

/** An error status from the API server; `status` is the HTTP code, `reason` the Status object's reason. */
export class ApiError extends KubeError {
  readonly status: number;
  readonly reason: string;
  readonly verb: string;
  readonly path: string;
  constructor(status: number, reason: string, message: string, verb: string, path: string, options?: ErrorOptions) {
    super(KubeErrorCode.Api, `${verb} ${path}: ${status} ${reason}: ${message}`, options);
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
