// The ONE place that turns storage errors into SFTP status codes and client-visible messages (cf. SFTPGo's
// GetFsError). StorageError messages are written to be safe for clients (docs: storage/errors.ts); anything else is
// an internal error whose details stay in the log.
import { CodedError } from '../../../common/src/errors/coded-error.ts';
import { StorageError, type StorageErrorCode } from '../storage/errors.ts';
import { PacketError } from './codec.ts';
import { Status, type StatusCode } from './constants.ts';

export interface MappedStatus {
  readonly code: StatusCode;
  readonly message: string;
  /** True when the error was not a classified one (log it with its stack). */
  readonly internal: boolean;
}

// Exhaustive: a code the storage layer adds fails to compile here until it is given a status. Typed by the code
// union, so a lookup can never miss (no fallback, no silent FAILURE for a forgotten code).
const BY_CODE = {
  SFTPGATE_STORAGE_NOT_FOUND: Status.NO_SUCH_FILE,
  SFTPGATE_STORAGE_ALREADY_EXISTS: Status.FAILURE,
  SFTPGATE_STORAGE_PERMISSION_DENIED: Status.PERMISSION_DENIED,
  SFTPGATE_STORAGE_NOT_EMPTY: Status.FAILURE,
  SFTPGATE_STORAGE_IS_DIRECTORY: Status.FAILURE,
  SFTPGATE_STORAGE_NOT_DIRECTORY: Status.FAILURE,
  SFTPGATE_STORAGE_UNSUPPORTED: Status.OP_UNSUPPORTED,
  SFTPGATE_STORAGE_ARCHIVED: Status.PERMISSION_DENIED,
  SFTPGATE_STORAGE_QUOTA_EXCEEDED: Status.FAILURE,
  SFTPGATE_STORAGE_TOO_MANY_OBJECTS: Status.OP_UNSUPPORTED,
  SFTPGATE_STORAGE_INVALID_WRITE: Status.FAILURE,
  SFTPGATE_STORAGE_INVALID_PATH: Status.NO_SUCH_FILE,
  SFTPGATE_STORAGE_ABORTED: Status.CONNECTION_LOST,
  SFTPGATE_STORAGE_BUSY: Status.FAILURE,
  SFTPGATE_STORAGE_IDLE: Status.FAILURE,
  SFTPGATE_STORAGE_UNAVAILABLE: Status.FAILURE,
  SFTPGATE_STORAGE_FAILURE: Status.FAILURE,
} as const satisfies Readonly<Record<StorageErrorCode, StatusCode>>;

/** Errors raised by the SFTP layer itself (permission checks, unsupported operations), already client-safe. */
export class SftpStatusError extends CodedError<'SFTPGATE_SFTP_STATUS'> {
  readonly status: StatusCode;
  constructor(status: StatusCode, message: string) {
    super('SFTPGATE_SFTP_STATUS', message);
    this.status = status;
  }
}

export function mapError(err: unknown): MappedStatus {
  if (err instanceof SftpStatusError) return { code: err.status, message: err.message, internal: false };
  if (err instanceof StorageError) {
    return { code: BY_CODE[err.code], message: err.message, internal: false };
  }
  if (err instanceof PacketError) return { code: Status.BAD_MESSAGE, message: err.message, internal: false };
  return { code: Status.FAILURE, message: 'internal error', internal: true };
}
