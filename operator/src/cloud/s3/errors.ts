// S3 errors as the operator sees them: classified once here (AWS SDK error → StorageError code) so reconcilers
// decide retry vs. "fix your spec" without knowing the SDK. Messages carry the S3 error, never credentials.
import { CodedError } from '../../../../common/src/errors/coded-error.ts';

export type S3ErrorCode =
  | 'SFTPGATE_S3_BUCKET_NOT_FOUND'
  | 'SFTPGATE_S3_ACCESS_DENIED'
  | 'SFTPGATE_S3_INVALID_CREDENTIALS'
  | 'SFTPGATE_S3_UNREACHABLE'
  | 'SFTPGATE_S3_PURGE_FAILED'
  /** A lifecycle write was asked for a rule id the operator does not own (a bug; never sent to S3). */
  | 'SFTPGATE_S3_FOREIGN_RULE'
  | 'SFTPGATE_S3_REQUEST_FAILED';

export class S3ManagerError extends CodedError<S3ErrorCode> {
  /** True when retrying later can help without a spec change (network, throttling, 5xx). */
  readonly transient: boolean;
  constructor(code: S3ErrorCode, message: string, transient: boolean, options?: ErrorOptions) {
    super(code, message, options);
    this.transient = transient;
  }
}

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  Code?: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** Maps any error thrown by the AWS SDK to an S3ManagerError; `what` names the operation for the message. */
export function classifyS3Error(err: unknown, what: string): S3ManagerError {
  if (err instanceof S3ManagerError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkLikeError;
  const name = e.name ?? e.Code ?? '';
  const status = e.$metadata?.httpStatusCode;
  const detail = `${name || 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
  const msg = `${what}: ${detail}`;
  if (name === 'NoSuchBucket' || (name === 'NotFound' && what.startsWith('HeadBucket'))) {
    return new S3ManagerError('SFTPGATE_S3_BUCKET_NOT_FOUND', msg, false, { cause: err });
  }
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    return new S3ManagerError('SFTPGATE_S3_INVALID_CREDENTIALS', msg, false, { cause: err });
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new S3ManagerError('SFTPGATE_S3_ACCESS_DENIED', msg, false, { cause: err });
  }
  if ((e.code !== undefined && NETWORK_CODES.has(e.code)) || name === 'TimeoutError' || name === 'AbortError') {
    return new S3ManagerError('SFTPGATE_S3_UNREACHABLE', msg, true, { cause: err });
  }
  const transient = status === undefined || status >= 500 || status === 429 || name === 'SlowDown';
  return new S3ManagerError('SFTPGATE_S3_REQUEST_FAILED', msg, transient, { cause: err });
}

/** True when the SDK error means "no such key" (HeadObject answers a bare 404 NotFound). */
export function isObjectNotFound(err: unknown): boolean {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkLikeError;
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}
