// The storage contract between the SFTP layer and an object store. Paths given to a Storage are object keys already
// resolved by the path jail (no leading slash, no `.`/`..`, segments joined by `/`); a directory is a key prefix.
// Every method either resolves or rejects with a StorageError (storage/errors.ts); the SFTP layer maps those to
// status codes in one place (sftp/status-map.ts).

export type EntryKind = 'file' | 'directory';

export interface FileInfo {
  /** Last path segment (for listings) or the full key (for stat). */
  readonly name: string;
  readonly kind: EntryKind;
  readonly size: number;
  /** Milliseconds since the epoch: stored mtime metadata when present, else the object's LastModified. */
  readonly mtimeMs: number;
  readonly atimeMs: number;
  /** S3 storage class, when the store reports one (used to refuse archived objects clearly). */
  readonly storageClass?: string;
}

export interface WriteOptions {
  /** May an existing object be replaced? (the user's `overwrite` permission). */
  readonly overwrite: boolean;
  /** Recorded as object metadata for audit correlation. */
  readonly user: string;
  readonly sessionId: string;
  /**
   * Opened without truncation (no TRUNC, or APPEND): may continue this user's interrupted upload of the same path
   * when the first write lands exactly at its committed size (docs/storage.md "Resumable uploads").
   */
  readonly resumable?: boolean;
  /** APPEND: only a resume can honour it (an object cannot grow); refused when there is nothing to resume. */
  readonly append?: boolean;
}

/** Hashes of an upload's bytes (lower-case hex), computed while streaming (docs/audit.md "Hashes"). */
export interface UploadDigests {
  readonly sha256: string;
  /** Only when the pod runs with --upload-md5. */
  readonly md5?: string;
}

/** An upload in progress. Nothing is visible in the store until commit() resolves. */
export interface WriteSink {
  /**
   * Accepts bytes at an offset. Resolves once the bytes are buffered within the upload's and the pod's budget — the
   * caller must not read more from the client until it resolves (that is the backpressure). Rejects on a hole or
   * overlap beyond the reorder window, or when an earlier part failed. The bytes are copied before it resolves, so
   * the caller may reuse `data` afterwards. Calls are serialised internally.
   */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Records times to store as metadata at commit (setstat on an open handle). */
  setTimes(atimeMs: number, mtimeMs: number): void;
  /** Resolves only after the store confirmed the whole object; on any failure rejects and leaves no object. */
  commit(signal?: AbortSignal): Promise<void>;
  /** Idempotent: aborts the multipart upload (if any) and releases buffered bytes. */
  abort(reason?: string): Promise<void>;
  /**
   * The session ended without CLOSE: keep the upload resumable if the store can (else the same as abort()).
   * Optional: a store without resumable uploads aborts.
   */
  suspend?(reason?: string): Promise<void>;
  readonly bytesReceived: number;
  /** The stored bytes' hashes, once commit() resolved (absent for implementations that do not hash). */
  readonly digests?: UploadDigests | undefined;
}

/** A download in progress; sequential reads are served from bounded read-ahead. */
export interface ReadSource {
  readonly size: number;
  /** Up to `length` bytes at `offset`; an empty result means end of file. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Optional: the caller holds no reference to `bytes` (a result of `read`, or any view of its memory) any more, so
   * the source may reuse that memory. Call at most once per result; never calling it is always safe.
   */
  release?(bytes: Uint8Array): void;
  close(): Promise<void>;
}

/** A user's quota and cluster-wide usage (statvfs@openssh.com; docs/operations.md "Quotas"). */
export interface StorageUsage {
  readonly maxBytes?: number | undefined;
  readonly maxFiles?: number | undefined;
  readonly usedBytes: number;
  readonly usedFiles: number;
}

export interface StorageCapabilities {
  readonly maxRenameObjects: number;
  readonly serverSideCopy: boolean;
}

export interface Storage {
  readonly capabilities: StorageCapabilities;
  /** The empty key is the store root; a key with no object but children is a directory. Throws NOT_FOUND. */
  stat(key: string, signal?: AbortSignal): Promise<FileInfo>;
  /**
   * Entries directly under a directory, one page per iteration (ListObjectsV2 with delimiter). A directory that does
   * not exist lists as empty (S3 cannot tell the difference in one call): stat it first to answer NO_SUCH_FILE.
   * `user`: whose lookup budget pays for the listing's extra requests (S3: stored times, s3-listing-times.ts).
   */
  list(dirKey: string, signal?: AbortSignal, user?: string): AsyncIterable<readonly FileInfo[]>;
  openRead(key: string, signal?: AbortSignal): Promise<ReadSource>;
  openWrite(key: string, options: WriteOptions, signal?: AbortSignal): Promise<WriteSink>;
  /** Writes a `dir/` marker. Throws ALREADY_EXISTS when a file or directory is there. */
  mkdir(dirKey: string, signal?: AbortSignal): Promise<void>;
  /** Files only. Throws NOT_FOUND, or IS_DIRECTORY. */
  remove(key: string, signal?: AbortSignal): Promise<void>;
  /** Only when empty. Throws NOT_EMPTY. */
  rmdir(dirKey: string, signal?: AbortSignal): Promise<void>;
  /** Server-side copy then delete; not atomic. Directories up to capabilities.maxRenameObjects objects. */
  rename(fromKey: string, toKey: string, options: { overwrite: boolean }, signal?: AbortSignal): Promise<void>;
  /** Server-side copy of a whole file (copy-data extension). */
  copy(fromKey: string, toKey: string, options: { overwrite: boolean }, signal?: AbortSignal): Promise<void>;
  /**
   * The hashes stored with a file at upload (docs/audit.md "Hashes"); undefined when it has none. Never re-reads the
   * file. Throws NOT_FOUND. Optional: a store without it answers no checksum requests.
   */
  digests?(key: string, signal?: AbortSignal): Promise<UploadDigests | undefined>;
  /**
   * What STAT answers for a path with no object but this user's interrupted, resumable upload: a file of its committed
   * size (OpenSSH `reput` stats first). Undefined when there is none. Optional; never throws.
   */
  resumableStat?(key: string, user: string, signal?: AbortSignal): Promise<FileInfo | undefined>;
  /** The user's quota and usage; absent or undefined without a quota (statvfs then reports a large free space). */
  usage?(signal?: AbortSignal): Promise<StorageUsage | undefined>;
  /** Stores times as metadata (a metadata-replacing self-copy on S3). */
  setTimes(key: string, atimeMs: number, mtimeMs: number, signal?: AbortSignal): Promise<void>;
}
