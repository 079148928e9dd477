// Storage errors with stable codes. Implementations classify their backend's errors into these at the edge;
// sftp/status-map.ts is the one place that turns them into SFTP status codes.
import { CodedError } from '../../../common/src/errors/coded-error.ts';

export const StorageErrorCode = {
  NotFound: 'SFTPGATE_STORAGE_NOT_FOUND',
  AlreadyExists: 'SFTPGATE_STORAGE_ALREADY_EXISTS',
  PermissionDenied: 'SFTPGATE_STORAGE_PERMISSION_DENIED',
  NotEmpty: 'SFTPGATE_STORAGE_NOT_EMPTY',
  IsDirectory: 'SFTPGATE_STORAGE_IS_DIRECTORY',
  NotDirectory: 'SFTPGATE_STORAGE_NOT_DIRECTORY',
  Unsupported: 'SFTPGATE_STORAGE_UNSUPPORTED',
  Archived: 'SFTPGATE_STORAGE_ARCHIVED',
  QuotaExceeded: 'SFTPGATE_STORAGE_QUOTA_EXCEEDED',
  TooManyObjects: 'SFTPGATE_STORAGE_TOO_MANY_OBJECTS',
  InvalidWrite: 'SFTPGATE_STORAGE_INVALID_WRITE',
  /** A path the jail refuses: NUL, invalid UTF-8, or an S3 key over the length limit (storage/jail.ts). */
  InvalidPath: 'SFTPGATE_STORAGE_INVALID_PATH',
  Aborted: 'SFTPGATE_STORAGE_ABORTED',
  /** A wait for upload memory (the session's, the user's or the pod's share) outlasted its deadline. */
  Busy: 'SFTPGATE_STORAGE_BUSY',
  /** An upload held memory without receiving data for too long and was released (nothing stored). */
  Idle: 'SFTPGATE_STORAGE_IDLE',
  Unavailable: 'SFTPGATE_STORAGE_UNAVAILABLE',
  Failure: 'SFTPGATE_STORAGE_FAILURE',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

/** Message is safe to show to the SFTP client: it names the path and the reason, never credentials. */
export class StorageError extends CodedError<StorageErrorCode> {}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}
