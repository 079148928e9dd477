// Storage on S3 (any S3 API: AWS, MinIO). Keys come from the path jail; directories are prefixes with optional
// zero-byte `dir/` markers. What each operation costs in S3 requests, and what is not atomic, is in docs/storage.md.
//
// The S3Client is injected: in STS/AWS IAM modes each login gets a client with its own short-lived credentials, so S3
// itself refuses a request outside the user's prefixes; one S3Storage per login is cheap (no connections of its own).

import type { S3Client } from '../../../common/src/s3/client.ts';
import type { HeadObjectOutput } from '../../../common/src/s3/types.ts';
import type { ByteBudget } from './budget.ts';
import { BufferPool } from './buffer-pool.ts';
import { isStorageError, StorageError, StorageErrorCode } from './errors.ts';
import { type FairBudget, fairBudgetFor } from './fair-budget.ts';
import type { ListingTimesLimits, LookupBudget } from './listing-times-budget.ts';
import type { StorageMetrics } from './metrics.ts';
import { auditMetadata, timeMetadata } from './object-metadata.ts';
import { checkPartSize, MAX_PART_BYTES, MIN_PART_BYTES } from './part-size.ts';
import { S3ReadSource } from './read-source.ts';
import { appendUnsupported, openResumable, type ResumeSettings, resumableStat } from './resume-open.ts';
import { makeContext, makeWriteHeaders, type S3Context, type ServerSideEncryption } from './s3-context.ts';
import { type CopySettings, copyObject, deleteObject } from './s3-copy.ts';
import { readDigests, retagTimes, withTaggedTimes } from './s3-digests.ts';
import { assertReadable } from './s3-errors.ts';
import { lookupBudgetFor, withStoredTimes } from './s3-listing-times.ts';
import { probeDirectory, probeName } from './s3-name-probe.ts';
import { directoryInfo, dirProbe, fileInfo, head, listedFile, missingFile, subject } from './s3-probe.ts';
import { renameDirectory, renameFile } from './s3-rename.ts';
import type {
  FileInfo,
  ReadSource,
  Storage,
  StorageCapabilities,
  UploadDigests,
  WriteOptions,
  WriteSink,
} from './types.ts';
import { S3UploadSink, type UploadSinkOptions } from './upload-sink.ts';

export interface S3StorageOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Base multipart part size (>= 5 MiB); grows with the object (part-size.ts). */
  readonly partSize: number;
  /** Parts in flight per upload. */
  readonly uploadConcurrency: number;
  /** Ranged GETs in flight (read-ahead chunks) per download. */
  readonly downloadConcurrency: number;
  /** The pod's transfer budget, shared by every upload and download of every session. */
  readonly podBudget: ByteBudget;
  /** Cap on one upload's buffers; default partSize × (uploadConcurrency + 1), never below 3 parts. */
  readonly perUploadBudgetBytes?: number;
  /** Cap on one user's transfers (all sessions); default a quarter of the pod budget (fair-budget.ts). */
  readonly perUserBudgetBytes?: number;
  /** Cap on one session's transfers; default an eighth of the pod budget, at least one upload's cap. */
  readonly perSessionBudgetBytes?: number;
  /** A wait for budget longer than this fails BUSY (default 60 s; 0 = no limit). */
  readonly budgetWaitMs?: number;
  /** An upload holding budget with no write for this long is released, IDLE (default 120 s; 0 = never). */
  readonly idleReleaseMs?: number;
  readonly storageClass?: string;
  readonly sse?: ServerSideEncryption;
  /** A directory rename copies at most this many objects; beyond it TOO_MANY_OBJECTS. */
  readonly maxRenameObjects: number;
  readonly metrics?: StorageMetrics;
  /** ListObjectsV2 MaxKeys per page (default 1000; tests use a small value to exercise paging). */
  readonly listPageSize?: number;
  /** Read-ahead chunk (default 4 MiB: 1 MiB chunks cost ~1.5x the CPU per GiB, see docs/storage.md). */
  readonly readAheadChunkBytes?: number;
  /** Objects above this are copied with UploadPartCopy (default and S3 maximum for CopyObject: 5 GiB). */
  readonly multipartCopyThresholdBytes?: number;
  /** UploadPartCopy range size (default 512 MiB). */
  readonly copyPartBytes?: number;
  /** Our own deadline for one S3 call, plus body time at 256 KiB/s (default 60 s). */
  readonly requestTimeoutMs?: number;
  /** Compute MD5 of uploads besides SHA-256 (--upload-md5). */
  readonly uploadMd5?: boolean;
  /**
   * Store a multipart upload's digests as object tags after Complete (default true). Off with per-login session
   * credentials, whose policies grant no tagging: the call would only be refused.
   */
  readonly tagDigests?: boolean;
  /**
   * READDIR reports each file's stored times (default true): one HeadObject per file listed (plus GetObjectTagging
   * for a tagged one), 16 at a time. Off: a listing costs one request per 1,000 entries and shows LastModified.
   */
  readonly listingTimes?: boolean;
  /** Bounds on those lookups: per READDIR reply and per user over time (default DEFAULT_LISTING_TIMES_LIMITS). */
  readonly listingTimesLimits?: ListingTimesLimits;
  /** Resumable uploads (resume-open.ts); absent or retention 0: a session lost mid-upload aborts it. */
  readonly resume?: ResumeSettings;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// One pool per pod budget: per-login storages (STS/AWS modes) share the pod's budget and so its free buffers.
const pools = new WeakMap<ByteBudget, BufferPool>();
function poolFor(budget: ByteBudget, maxBytes: number): BufferPool {
  let pool = pools.get(budget);
  if (pool === undefined) {
    pool = new BufferPool(Math.min(maxBytes, Math.floor(budget.capacity / 2)));
    pools.set(budget, pool);
  }
  return pool;
}

export class S3Storage implements Storage {
  readonly capabilities: StorageCapabilities;
  readonly #ctx: S3Context;
  readonly #o: S3StorageOptions;
  readonly #perUpload: number;
  readonly #fair: FairBudget;
  readonly #pageSize: number;
  readonly #copy: CopySettings;
  readonly #lookups: LookupBudget;

  /** Throws RangeError for invalid sizes or an unknown storage class. */
  constructor(options: S3StorageOptions) {
    checkPartSize(options.partSize);
    for (const [name, v] of [
      ['uploadConcurrency', options.uploadConcurrency],
      ['downloadConcurrency', options.downloadConcurrency],
      ['maxRenameObjects', options.maxRenameObjects],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
    }
    const copyPart = options.copyPartBytes ?? 512 * MiB;
    if (copyPart < MIN_PART_BYTES || copyPart > MAX_PART_BYTES) throw new RangeError('copyPartBytes out of range');
    this.#o = options;
    this.#perUpload = options.perUploadBudgetBytes ?? options.partSize * (options.uploadConcurrency + 1);
    this.#pageSize = options.listPageSize ?? 1000;
    this.#fair = fairBudgetFor(options.podBudget, {
      partSize: options.partSize,
      perUploadBytes: this.#perUpload,
      ...(options.perUserBudgetBytes ? { perUserBytes: options.perUserBudgetBytes } : {}),
      ...(options.perSessionBudgetBytes ? { perSessionBytes: options.perSessionBudgetBytes } : {}),
      ...(options.budgetWaitMs === undefined ? {} : { waitMs: options.budgetWaitMs }),
    });
    this.#copy = {
      multipartCopyThresholdBytes: options.multipartCopyThresholdBytes ?? 5 * GiB,
      copyPartBytes: copyPart,
      concurrency: options.uploadConcurrency,
    };
    this.#ctx = makeContext(
      options.client,
      options.bucket,
      options.podBudget,
      options.metrics ?? {},
      makeWriteHeaders(options.storageClass, options.sse),
      options.requestTimeoutMs ?? 60_000,
      poolFor(options.podBudget, options.partSize * (options.uploadConcurrency + 1)),
    );
    this.#lookups = lookupBudgetFor(options.podBudget, options.listingTimesLimits);
    this.capabilities = { maxRenameObjects: options.maxRenameObjects, serverSideCopy: true };
  }

  async stat(key: string, signal?: AbortSignal): Promise<FileInfo> {
    const what = subject('stat', key);
    if (key === '') return directoryInfo('', 0);
    let found: HeadObjectOutput | undefined;
    try {
      found = await head(this.#ctx, key, what, signal);
    } catch (err) {
      // HeadObject needs s3:GetObject; a session policy without `download` still allows ListBucket for upload,
      // mkdir, delete... (docs/iam.md): answer from the listing then.
      if (!isStorageError(err, StorageErrorCode.PermissionDenied)) throw err;
      const [file, dir] = await Promise.all([
        listedFile(this.#ctx, key, what, signal),
        dirProbe(this.#ctx, key, signal, false),
      ]);
      if (file !== undefined) return file;
      if (dir !== undefined) return directoryInfo(key, dir);
      throw new StorageError(StorageErrorCode.NotFound, `${what}: no such file or directory`);
    }
    if (found !== undefined) return withTaggedTimes(this.#ctx, key, fileInfo(key, found), found, what, signal);
    const dir = await dirProbe(this.#ctx, key, signal);
    if (dir === undefined) throw new StorageError(StorageErrorCode.NotFound, `${what}: no such file or directory`);
    return directoryInfo(key, dir);
  }

  async *list(dirKey: string, signal?: AbortSignal, user = ''): AsyncIterable<readonly FileInfo[]> {
    const prefix = dirKey === '' ? '' : `${dirKey}/`;
    let token: string | undefined;
    do {
      const out = await this.#ctx.send('ListObjectsV2', subject('list', dirKey), signal, (o) =>
        this.#ctx.client.listObjectsV2(
          {
            Bucket: this.#o.bucket,
            Prefix: prefix,
            Delimiter: '/',
            MaxKeys: this.#pageSize,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          },
          o,
        ),
      );
      const page: FileInfo[] = [];
      for (const cp of out.CommonPrefixes ?? []) {
        const name = cp.Prefix?.slice(prefix.length, -1);
        if (name) page.push(directoryInfo(name, 0));
      }
      for (const obj of out.Contents ?? []) {
        const name = obj.Key?.slice(prefix.length);
        if (!name) continue; // the directory's own marker
        const mtimeMs = obj.LastModified?.getTime() ?? 0;
        page.push({
          name,
          kind: 'file',
          size: obj.Size ?? 0,
          mtimeMs,
          atimeMs: mtimeMs,
          ...(obj.StorageClass === undefined ? {} : { storageClass: obj.StorageClass }),
        });
      }
      if (this.#o.listingTimes !== false) yield* withStoredTimes(this.#ctx, prefix, page, this.#lookups, user, signal);
      else if (page.length > 0) yield page;
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async openRead(key: string, signal?: AbortSignal): Promise<ReadSource> {
    const what = subject('read', key);
    const found = await head(this.#ctx, key, what, signal);
    if (found === undefined) throw await missingFile(this.#ctx, key, signal);
    assertReadable(what, found.StorageClass, found.Restore);
    return new S3ReadSource({
      ctx: this.#ctx,
      key,
      what,
      size: found.ContentLength ?? 0,
      etag: found.ETag,
      chunkBytes: this.#o.readAheadChunkBytes ?? 4 * MiB,
      concurrency: this.#o.downloadConcurrency,
      budget: this.#fair.readAhead,
    });
  }

  async openWrite(key: string, options: WriteOptions, signal?: AbortSignal): Promise<WriteSink> {
    const what = subject('upload', key);
    if (key === '') throw new StorageError(StorageErrorCode.IsDirectory, `${what}: the root is a directory`);
    // One listing, not HeadObject: an upload-only session policy has ListBucket but no GetObject (docs/iam.md). Whether
    // a file has the name matters only when it may not be replaced, to append and to resume (s3-name-probe.ts).
    const needFile = !options.overwrite || options.append || options.resumable;
    const { file, directory } = needFile
      ? await probeName(this.#ctx, key, what, signal)
      : { file: false, directory: await probeDirectory(this.#ctx, key, signal) };
    if (directory) throw new StorageError(StorageErrorCode.IsDirectory, `${what}: a directory has that name`);
    if (file && !options.overwrite) {
      throw new StorageError(StorageErrorCode.PermissionDenied, `${what}: the file exists and may not be overwritten`);
    }
    // A complete object is never resumed or appended to: an object can only be replaced as a whole.
    if (file && options.append) throw appendUnsupported(what);
    const sinkOptions = (): UploadSinkOptions => {
      const lease = this.#fair.lease(options.user, options.sessionId);
      return {
        ctx: this.#ctx,
        budget: lease,
        onSettled: () => lease.close(),
        idleReleaseMs: this.#o.idleReleaseMs ?? 120_000,
        key,
        what,
        basePartSize: this.#o.partSize,
        uploadConcurrency: this.#o.uploadConcurrency,
        perUploadBudgetBytes: this.#perUpload,
        overwrite: options.overwrite,
        metadata: auditMetadata(options.user, options.sessionId),
        md5: this.#o.uploadMd5 ?? false,
        tagDigests: this.#o.tagDigests ?? true,
      };
    };
    const resume = this.#o.resume;
    if (resume === undefined || resume.retentionMs <= 0) {
      if (options.append) throw appendUnsupported(what);
      return new S3UploadSink(sinkOptions());
    }
    const o = { ctx: this.#ctx, settings: resume, key, what, options, exists: file };
    return openResumable(
      { ...o, basePartSize: this.#o.partSize, md5: this.#o.uploadMd5 ?? false },
      signal,
      (hooks) => new S3UploadSink({ ...sinkOptions(), resume: hooks }),
    );
  }

  resumableStat(key: string, user: string, signal?: AbortSignal): Promise<FileInfo | undefined> {
    const resume = this.#o.resume;
    if (resume === undefined || resume.retentionMs <= 0) return Promise.resolve(undefined);
    return resumableStat({ ctx: this.#ctx, settings: resume, key, user, basePartSize: this.#o.partSize }, signal);
  }

  async mkdir(dirKey: string, signal?: AbortSignal): Promise<void> {
    const what = subject('mkdir', dirKey);
    if (dirKey === '') throw new StorageError(StorageErrorCode.AlreadyExists, `${what}: the root exists`);
    const { file, directory } = await probeName(this.#ctx, dirKey, what, signal);
    if (file || directory) {
      throw new StorageError(StorageErrorCode.AlreadyExists, `${what}: a file or directory has that name`);
    }
    const now = timeMetadata(Date.now());
    await this.#ctx.send('PutObject', what, signal, (o) =>
      this.#ctx.client.putObject(
        {
          Bucket: this.#o.bucket,
          Key: `${dirKey}/`,
          Body: new Uint8Array(0),
          ContentLength: 0,
          Metadata: { mtime: now, atime: now },
          ...this.#ctx.writeHeaders,
        },
        o,
      ),
    );
  }

  async remove(key: string, signal?: AbortSignal): Promise<void> {
    const what = subject('remove', key);
    if (key === '') throw new StorageError(StorageErrorCode.IsDirectory, `${what}: the root is a directory`);
    if ((await listedFile(this.#ctx, key, what, signal)) === undefined) throw await missingFile(this.#ctx, key, signal);
    await deleteObject(this.#ctx, key, what, signal);
  }

  async rmdir(dirKey: string, signal?: AbortSignal): Promise<void> {
    const what = subject('rmdir', dirKey);
    if (dirKey === '') throw new StorageError(StorageErrorCode.PermissionDenied, `${what}: the root cannot be removed`);
    const prefix = `${dirKey}/`;
    const out = await this.#ctx.send('ListObjectsV2', what, signal, (o) =>
      this.#ctx.client.listObjectsV2({ Bucket: this.#o.bucket, Prefix: prefix, MaxKeys: 2 }, o),
    );
    const keys = (out.Contents ?? []).map((c) => c.Key);
    if (keys.length === 0) {
      if ((await listedFile(this.#ctx, dirKey, what, signal)) !== undefined) {
        throw new StorageError(StorageErrorCode.NotDirectory, `${what}: not a directory`);
      }
      throw new StorageError(StorageErrorCode.NotFound, `${what}: no such directory`);
    }
    // The marker sorts first under its prefix, so anything else in the first two keys means children.
    if (keys.some((k) => k !== prefix))
      throw new StorageError(StorageErrorCode.NotEmpty, `${what}: directory not empty`);
    await deleteObject(this.#ctx, prefix, what, signal);
  }

  async rename(fromKey: string, toKey: string, options: { overwrite: boolean }, signal?: AbortSignal): Promise<void> {
    const what = subject('rename', fromKey);
    if (fromKey === '' || toKey === '') {
      throw new StorageError(StorageErrorCode.PermissionDenied, `${what}: the root cannot be renamed or replaced`);
    }
    const src = await this.stat(fromKey, signal);
    if (fromKey === toKey) return;
    const dst = await this.#statOrUndefined(toKey, signal);
    if (src.kind === 'file') {
      if (dst?.kind === 'directory') {
        throw new StorageError(StorageErrorCode.IsDirectory, `${what}: the target is a directory`);
      }
      if (dst !== undefined && !options.overwrite) {
        throw new StorageError(StorageErrorCode.AlreadyExists, `${what}: the target exists`);
      }
      await renameFile(this.#ctx, this.#copy, fromKey, toKey, options.overwrite, what, signal);
      return;
    }
    if (toKey.startsWith(`${fromKey}/`)) {
      throw new StorageError(StorageErrorCode.Failure, `${what}: cannot move a directory into itself`);
    }
    if (dst !== undefined) throw new StorageError(StorageErrorCode.AlreadyExists, `${what}: the target exists`);
    await renameDirectory(this.#ctx, this.#copy, fromKey, toKey, this.#o.maxRenameObjects, what, signal);
  }

  async copy(fromKey: string, toKey: string, options: { overwrite: boolean }, signal?: AbortSignal): Promise<void> {
    const what = subject('copy', fromKey);
    const src = await this.stat(fromKey, signal);
    if (src.kind !== 'file') throw new StorageError(StorageErrorCode.IsDirectory, `${what}: only files can be copied`);
    if (fromKey === toKey) throw new StorageError(StorageErrorCode.AlreadyExists, `${what}: source and target are one`);
    const dst = await this.#statOrUndefined(toKey, signal);
    if (dst?.kind === 'directory')
      throw new StorageError(StorageErrorCode.IsDirectory, `${what}: the target is a directory`);
    if (dst !== undefined && !options.overwrite) {
      throw new StorageError(StorageErrorCode.AlreadyExists, `${what}: the target exists`);
    }
    await copyObject(this.#ctx, this.#copy, fromKey, toKey, what, signal, { noOverwrite: !options.overwrite });
  }

  digests(key: string, signal?: AbortSignal): Promise<UploadDigests | undefined> {
    return readDigests(this.#ctx, key, subject('checksum', key), signal);
  }

  async setTimes(key: string, atimeMs: number, mtimeMs: number, signal?: AbortSignal): Promise<void> {
    const what = subject('setstat', key);
    if (key === '') return; // the root has no object to carry times
    const current = await head(this.#ctx, key, what, signal);
    if (current !== undefined) {
      // Tags, not a metadata-replacing self-copy: no second write of the object, no noncurrent version.
      await retagTimes(this.#ctx, key, current, { atimeMs, mtimeMs }, what, signal);
      return;
    }
    if ((await dirProbe(this.#ctx, key, signal)) === undefined) {
      throw new StorageError(StorageErrorCode.NotFound, `${what}: no such file or directory`);
    }
    // A directory keeps its times on its marker (created here if the directory was only implied by its children).
    await this.#ctx.send('PutObject', what, signal, (o) =>
      this.#ctx.client.putObject(
        {
          Bucket: this.#o.bucket,
          Key: `${key}/`,
          Body: new Uint8Array(0),
          ContentLength: 0,
          Metadata: { mtime: timeMetadata(mtimeMs), atime: timeMetadata(atimeMs) },
          ...this.#ctx.writeHeaders,
        },
        o,
      ),
    );
  }

  async #statOrUndefined(key: string, signal?: AbortSignal): Promise<FileInfo | undefined> {
    try {
      return await this.stat(key, signal);
    } catch (err) {
      if (isStorageError(err, StorageErrorCode.NotFound)) return undefined;
      throw err;
    }
  }
}
