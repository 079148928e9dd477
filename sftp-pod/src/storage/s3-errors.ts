// Classification at the edge: an AWS SDK (or network) error becomes a StorageError with a stable code, once, here.
// Messages name the operation and S3's error code, never a credential, a signature or the bucket's internal prefix.

import { StorageError, StorageErrorCode } from './errors.ts';

/** Storage classes whose objects must be restored before a GET (GLACIER_IR is instant and readable). */
export const ARCHIVED_STORAGE_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly Code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly $fault?: unknown;
  readonly StorageClass?: unknown;
}

function shape(err: unknown): SdkErrorShape {
  return typeof err === 'object' && err !== null ? (err as SdkErrorShape) : {};
}

/** The S3 error code (`NoSuchKey`, `SlowDown`...) or the Node error code (`ECONNRESET`), when there is one. */
export function s3ErrorName(err: unknown): string {
  const e = shape(err);
  for (const v of [e.Code, e.name, e.code]) if (typeof v === 'string' && v !== '' && v !== 'Error') return v;
  return 'UnknownError';
}

export function s3HttpStatus(err: unknown): number | undefined {
  const s = shape(err).$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);
const DENIED = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
]);
const EXISTS = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);
const UNAVAILABLE = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'TimeoutError',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/**
 * Maps any error from an S3 call to a StorageError. `what` is a client-safe description ("upload", "stat a/b").
 * An AbortError from the caller's signal becomes ABORTED; a StorageError passes through unchanged.
 */
export function classifyS3Error(err: unknown, operation: string, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const name = s3ErrorName(err);
  const status = s3HttpStatus(err);
  const detail = `${what}: S3 ${operation} failed (${name}${status === undefined ? '' : ` ${status}`})`;
  const make = (code: StorageErrorCode, message = detail) => new StorageError(code, message, { cause: err });
  if (name === 'AbortError') return make(StorageErrorCode.Aborted, `${what}: aborted`);
  if (name === 'InvalidObjectState') {
    const cls = shape(err).StorageClass;
    return make(StorageErrorCode.Archived, archivedMessage(what, typeof cls === 'string' ? cls : 'an archive class'));
  }
  if (NOT_FOUND.has(name) || status === 404) return make(StorageErrorCode.NotFound);
  if (DENIED.has(name) || status === 403) return make(StorageErrorCode.PermissionDenied);
  if (EXISTS.has(name) || status === 412) return make(StorageErrorCode.AlreadyExists);
  if (UNAVAILABLE.has(name) || (status !== undefined && status >= 500)) return make(StorageErrorCode.Unavailable);
  if (shape(err).$fault === 'server') return make(StorageErrorCode.Unavailable);
  return make(StorageErrorCode.Failure);
}

export function archivedMessage(what: string, storageClass: string): string {
  return `${what}: the object is in the ${storageClass} storage class and must be restored before it can be read`;
}

/**
 * Throws ARCHIVED when an object in GLACIER/DEEP_ARCHIVE has no completed restore. `restore` is HeadObject's
 * `x-amz-restore` (`ongoing-request="false", expiry-date=...` once a temporary copy is readable).
 */
export function assertReadable(what: string, storageClass: string | undefined, restore: string | undefined): void {
  if (storageClass === undefined || !ARCHIVED_STORAGE_CLASSES.has(storageClass)) return;
  if (restore?.includes('ongoing-request="false"')) return;
  throw new StorageError(StorageErrorCode.Archived, archivedMessage(what, storageClass));
}
