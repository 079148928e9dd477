// SFTP v3 (draft-ietf-secsh-filexfer-02) numbers, plus the OpenSSH extensions we implement.

export const PacketType = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

export const Status = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

/** Bounded label values for sftpgate_sftp_requests_total{status}. */
export const STATUS_LABEL: Readonly<Record<number, string>> = {
  0: 'ok',
  1: 'eof',
  2: 'no_such_file',
  3: 'permission_denied',
  4: 'failure',
  5: 'bad_message',
  6: 'no_connection',
  7: 'connection_lost',
  8: 'op_unsupported',
};

export const OpenFlags = {
  READ: 0x01,
  WRITE: 0x02,
  APPEND: 0x04,
  CREAT: 0x08,
  TRUNC: 0x10,
  EXCL: 0x20,
} as const;

export const AttrFlags = {
  SIZE: 0x01,
  UIDGID: 0x02,
  PERMISSIONS: 0x04,
  ACMODTIME: 0x08,
  EXTENDED: 0x80000000,
} as const;

/**
 * Largest WRITE payload, advertised in limits@openssh.com: 256 KiB, so a client may send whole 256 KiB blocks.
 * OpenSSH's own clients cap themselves at 255 KiB anyway (SFTP_MAX_MSG_LENGTH - 1024).
 */
export const MAX_WRITE_LENGTH = 256 * 1024;
/**
 * Largest incoming message (the length field excludes itself): a 256 KiB WRITE plus 1 KiB for its header (request
 * id, handle, offset). Anything longer closes the session, as OpenSSH's sftp-server does above its 256 KiB limit.
 */
export const MAX_MESSAGE_LENGTH = MAX_WRITE_LENGTH + 1024;
/** Largest READ we answer: keeps every DATA reply within the 256 KiB messages all clients accept. */
export const MAX_READ_LENGTH = 256 * 1024 - 1024;
export const SFTP_VERSION = 3;

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
