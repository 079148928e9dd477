// Storage on S3 (any S3 API: AWS, MinIO). Keys come from the path jail; directories are prefixes with optional
// zero-byte `dir/` markers. What each operation costs in S3 requests, and what is not atomic, is in docs/storage.md.
//
// The S3Client is injected: in STS/AWS IAM modes each login gets a client with its own short-lived credentials, so S3
// itself refuses a request outside the user's prefixes; one S3Storage per login is cheap (no connections of its own).

import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { ByteBudget } from './budget.ts';
import { BufferPool } from './buffer-pool.ts';
import { isStorageError, StorageError, StorageErrorCode } from './errors.ts';
import type { StorageMetrics } from './metrics.ts';
import { checkPartSize, MAX_PART_BYTES, MIN_PART_BYTES } from './part-size.ts';
import { S3ReadSource } from './read-source.ts';
import { makeContext, makeWriteHeaders, type S3Context, type ServerSideEncryption } from './s3-context.ts';
import { assertReadable } from './s3-errors.ts';
import type { FileInfo, ReadSource, Storage, StorageCapabilities, WriteOptions, WriteSink } from './types.ts';
import { S3UploadSink, timeMetadata } from './upload-sink.ts';

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

// ASCII only: S3 sends user metadata as HTTP headers.
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '_').slice(0, 128);
}

function parseTime(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = Math.round(Number.parseFloat(v) * 1000);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * The client-safe subject of a message: the operation and the key's last segment. The full key would reveal the
 * server prefix and the home layout, which are the operator's business, not the SFTP user's.
 */
export function subject(operation: string, key: string): string {
  return key === '' ? operation : `${operation} ${JSON.stringify(key.slice(key.lastIndexOf('/') + 1))}`;
}

function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export class S3Storage implements Storage {
  readonly capabilities: StorageCapabilities;
  readonly #ctx: S3Context;
  readonly #o: S3StorageOptions;
  readonly #perUpload: number;
  readonly #pageSize: number;

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
    this.#ctx = makeContext(
      options.client,
      options.bucket,
      options.podBudget,
      options.metrics ?? {},
      makeWriteHeaders(options.storageClass, options.sse),
      options.requestTimeoutMs ?? 60_000,
      poolFor(options.podBudget, options.partSize * (options.uploadConcurrency + 1)),
    );
    this.capabilities = { maxRenameObjects: options.maxRenameObjects, serverSideCopy: true };
  }

  async stat(key: string, signal?: AbortSignal): Promise<FileInfo> {
    const what = subject('stat', key);
    if (key === '') return directoryInfo('', 0);
    let head: HeadObjectCommandOutput | undefined;
    try {
      head = await this.#head(key, what, signal);
    } catch (err) {
      // HeadObject needs s3:GetObject; a session policy without `download` still allows ListBucket for upload,
      // mkdir, delete... (docs/iam.md): answer from the listing then.
      if (!isStorageError(err, StorageErrorCode.PermissionDenied)) throw err;
      const [file, dir] = await Promise.all([this.#listedFile(key, what, signal), this.#dirProbe(key, signal, false)]);
      if (file !== undefined) return file;
      if (dir !== undefined) return directoryInfo(key, dir);
      throw new StorageError(StorageErrorCode.NotFound, `${what}: no such file or directory`);
    }
    if (head !== undefined) return fileInfo(key, head);
    const dir = await this.#dirProbe(key, signal);
    if (dir === undefined) throw new StorageError(StorageErrorCode.NotFound, `${what}: no such file or directory`);
    return directoryInfo(key, dir);
  }

  async *list(dirKey: string, signal?: AbortSignal): AsyncIterable<readonly FileInfo[]> {
    const prefix = dirKey === '' ? '' : `${dirKey}/`;
    let token: string | undefined;
    do {
      const out = await this.#ctx.send('ListObjectsV2', subject('list', dirKey), signal, (o) =>
        this.#ctx.client.send(
          new ListObjectsV2Command({
            Bucket: this.#o.bucket,
            Prefix: prefix,
            Delimiter: '/',
            MaxKeys: this.#pageSize,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
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
      if (page.length > 0) yield page;
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async openRead(key: string, signal?: AbortSignal): Promise<ReadSource> {
    const what = subject('read', key);
    const head = await this.#head(key, what, signal);
    if (head === undefined) throw await this.#missingFile(key, signal);
    assertReadable(what, head.StorageClass, head.Restore);
    return new S3ReadSource({
      ctx: this.#ctx,
      key,
      what,
      size: head.ContentLength ?? 0,
      etag: head.ETag,
      chunkBytes: this.#o.readAheadChunkBytes ?? 4 * MiB,
      concurrency: this.#o.downloadConcurrency,
    });
  }

  async openWrite(key: string, options: WriteOptions, signal?: AbortSignal): Promise<WriteSink> {
    const what = subject('upload', key);
    // Listings, not HeadObject: an upload-only session policy has ListBucket but no GetObject (docs/iam.md).
    const [file, dir] = await Promise.all([this.#listedFile(key, what, signal), this.#dirProbe(key, signal, false)]);
    if (dir !== undefined) throw new StorageError(StorageErrorCode.IsDirectory, `${what}: a directory has that name`);
    if (file !== undefined && !options.overwrite) {
      throw new StorageError(StorageErrorCode.PermissionDenied, `${what}: the file exists and may not be overwritten`);
    }
    return new S3UploadSink({
      ctx: this.#ctx,
      key,
      what,
      basePartSize: this.#o.partSize,
      uploadConcurrency: this.#o.uploadConcurrency,
      perUploadBudgetBytes: this.#perUpload,
      overwrite: options.overwrite,
      metadata: { 'sftpgate-user': headerSafe(options.user), 'sftpgate-session': headerSafe(options.sessionId) },
      replaceTimes: (atimeMs, mtimeMs, s) => this.setTimes(key, atimeMs, mtimeMs, s),
    });
  }

  async mkdir(dirKey: string, signal?: AbortSignal): Promise<void> {
    const what = subject('mkdir', dirKey);
    if (dirKey === '') throw new StorageError(StorageErrorCode.AlreadyExists, `${what}: the root exists`);
    const [file, dir] = await Promise.all([
      this.#listedFile(dirKey, what, signal),
      this.#dirProbe(dirKey, signal, false),
    ]);
    if (file !== undefined || dir !== undefined) {
      throw new StorageError(StorageErrorCode.AlreadyExists, `${what}: a file or directory has that name`);
    }
    const now = timeMetadata(Date.now());
    await this.#ctx.send('PutObject', what, signal, (o) =>
      this.#ctx.client.send(
        new PutObjectCommand({
          Bucket: this.#o.bucket,
          Key: `${dirKey}/`,
          Body: new Uint8Array(0),
          ContentLength: 0,
          Metadata: { mtime: now, atime: now },
          ...this.#ctx.writeHeaders,
        }),
        o,
      ),
    );
  }

  async remove(key: string, signal?: AbortSignal): Promise<void> {
    const what = subject('remove', key);
    if (key === '') throw new StorageError(StorageErrorCode.IsDirectory, `${what}: the root is a directory`);
    if ((await this.#listedFile(key, what, signal)) === undefined) throw await this.#missingFile(key, signal);
    await this.#delete(key, what, signal);
  }

  async rmdir(dirKey: string, signal?: AbortSignal): Promise<void> {
    const what = subject('rmdir', dirKey);
    if (dirKey === '') throw new StorageError(StorageErrorCode.PermissionDenied, `${what}: the root cannot be removed`);
    const prefix = `${dirKey}/`;
    const out = await this.#ctx.send('ListObjectsV2', what, signal, (o) =>
      this.#ctx.client.send(new ListObjectsV2Command({ Bucket: this.#o.bucket, Prefix: prefix, MaxKeys: 2 }), o),
    );
    const keys = (out.Contents ?? []).map((c) => c.Key);
    if (keys.length === 0) {
      if ((await this.#listedFile(dirKey, what, signal)) !== undefined) {
        throw new StorageError(StorageErrorCode.NotDirectory, `${what}: not a directory`);
      }
      throw new StorageError(StorageErrorCode.NotFound, `${what}: no such directory`);
    }
    // The marker sorts first under its prefix, so anything else in the first two keys means children.
    if (keys.some((k) => k !== prefix))
      throw new StorageError(StorageErrorCode.NotEmpty, `${what}: directory not empty`);
    await this.#delete(prefix, what, signal);
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
      await this.#copyObject(fromKey, toKey, what, signal, { noOverwrite: !options.overwrite });
      await this.#delete(fromKey, what, signal);
      return;
    }
    if (toKey.startsWith(`${fromKey}/`)) {
      throw new StorageError(StorageErrorCode.Failure, `${what}: cannot move a directory into itself`);
    }
    if (dst !== undefined) throw new StorageError(StorageErrorCode.AlreadyExists, `${what}: the target exists`);
    const keys = await this.#keysUnder(fromKey, this.#o.maxRenameObjects, what, signal);
    const copied: string[] = [];
    try {
      for (const key of keys) {
        const target = `${toKey}/${key.slice(fromKey.length + 1)}`;
        await this.#copyObject(key, target, what, signal, { noOverwrite: true });
        copied.push(target);
      }
    } catch (err) {
      // The source is untouched until every copy succeeded; take back the partial copies (best effort).
      await this.#deleteMany(copied, what, AbortSignal.timeout(60_000)).catch(() => undefined);
      throw err;
    }
    await this.#deleteMany(keys, what, signal);
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
    await this.#copyObject(fromKey, toKey, what, signal, { noOverwrite: !options.overwrite });
  }

  async setTimes(key: string, atimeMs: number, mtimeMs: number, signal?: AbortSignal): Promise<void> {
    const what = subject('setstat', key);
    if (key === '') return; // the root has no object to carry times
    const times = { mtime: timeMetadata(mtimeMs), atime: timeMetadata(atimeMs) };
    const head = await this.#head(key, what, signal);
    if (head !== undefined) {
      await this.#copyObject(key, key, what, signal, { replaceMetadata: { ...head.Metadata, ...times } });
      return;
    }
    if ((await this.#dirProbe(key, signal)) === undefined) {
      throw new StorageError(StorageErrorCode.NotFound, `${what}: no such file or directory`);
    }
    // A directory keeps its times on its marker (created here if the directory was only implied by its children).
    await this.#ctx.send('PutObject', what, signal, (o) =>
      this.#ctx.client.send(
        new PutObjectCommand({
          Bucket: this.#o.bucket,
          Key: `${key}/`,
          Body: new Uint8Array(0),
          ContentLength: 0,
          Metadata: times,
          ...this.#ctx.writeHeaders,
        }),
        o,
      ),
    );
  }

  /** HeadObject; undefined when there is no such object (other errors throw). */
  async #head(key: string, what: string, signal?: AbortSignal): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.#ctx.send('HeadObject', what, signal, (o) =>
        this.#ctx.client.send(new HeadObjectCommand({ Bucket: this.#o.bucket, Key: key }), o),
      );
    } catch (err) {
      if (isStorageError(err, StorageErrorCode.NotFound)) return undefined;
      throw err;
    }
  }

  /**
   * Is `key` a directory (marker or any key below it)? Returns its mtime in ms (from the marker's metadata, else 0),
   * or undefined when nothing lies below the prefix.
   */
  async #dirProbe(key: string, signal?: AbortSignal, withTime = true): Promise<number | undefined> {
    const prefix = `${key}/`;
    const what = subject('stat', key);
    const out = await this.#ctx.send('ListObjectsV2', what, signal, (o) =>
      this.#ctx.client.send(new ListObjectsV2Command({ Bucket: this.#o.bucket, Prefix: prefix, MaxKeys: 1 }), o),
    );
    const first = out.Contents?.[0];
    if (first === undefined) return undefined;
    if (first.Key !== prefix) return 0;
    const listed = first.LastModified?.getTime() ?? 0;
    if (!withTime) return listed;
    try {
      const marker = await this.#head(prefix, what, signal);
      return parseTime(marker?.Metadata?.['mtime']) ?? listed;
    } catch (err) {
      if (isStorageError(err, StorageErrorCode.PermissionDenied)) return listed;
      throw err;
    }
  }

  /**
   * The object `key` as a listing sees it (ListObjectsV2 prefix=key, max-keys=1: the exact key sorts first among keys
   * it prefixes), or undefined. Needs only s3:ListBucket.
   */
  async #listedFile(key: string, what: string, signal?: AbortSignal): Promise<FileInfo | undefined> {
    const out = await this.#ctx.send('ListObjectsV2', what, signal, (o) =>
      this.#ctx.client.send(new ListObjectsV2Command({ Bucket: this.#o.bucket, Prefix: key, MaxKeys: 1 }), o),
    );
    const first = out.Contents?.[0];
    if (first?.Key !== key) return undefined;
    const mtimeMs = first.LastModified?.getTime() ?? 0;
    return {
      name: key,
      kind: 'file',
      size: first.Size ?? 0,
      mtimeMs,
      atimeMs: mtimeMs,
      ...(first.StorageClass === undefined ? {} : { storageClass: first.StorageClass }),
    };
  }

  async #statOrUndefined(key: string, signal?: AbortSignal): Promise<FileInfo | undefined> {
    try {
      return await this.stat(key, signal);
    } catch (err) {
      if (isStorageError(err, StorageErrorCode.NotFound)) return undefined;
      throw err;
    }
  }

  /** The error for "no file at key": IS_DIRECTORY when a directory has that name, else NOT_FOUND. */
  async #missingFile(key: string, signal?: AbortSignal): Promise<StorageError> {
    if (key === '' || (await this.#dirProbe(key, signal)) !== undefined) {
      return new StorageError(StorageErrorCode.IsDirectory, `${subject('open', key)}: is a directory`);
    }
    return new StorageError(StorageErrorCode.NotFound, `${subject('open', key)}: no such file`);
  }

  async #delete(key: string, what: string, signal?: AbortSignal): Promise<void> {
    await this.#ctx.send('DeleteObject', what, signal, (o) =>
      this.#ctx.client.send(new DeleteObjectCommand({ Bucket: this.#o.bucket, Key: key }), o),
    );
  }

  async #deleteMany(keys: readonly string[], what: string, signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.#ctx.send('DeleteObjects', what, signal, (o) =>
        this.#ctx.client.send(
          new DeleteObjectsCommand({
            Bucket: this.#o.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
          o,
        ),
      );
      const failed = out.Errors?.[0];
      if (failed) {
        throw new StorageError(
          StorageErrorCode.Failure,
          `${what}: S3 DeleteObjects failed for ${out.Errors?.length} object(s) (${failed.Code})`,
        );
      }
    }
  }

  /** Every key under `dirKey/` (no delimiter). Throws TOO_MANY_OBJECTS past `max`. */
  async #keysUnder(dirKey: string, max: number, what: string, signal?: AbortSignal): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.#ctx.send('ListObjectsV2', what, signal, (o) =>
        this.#ctx.client.send(
          new ListObjectsV2Command({
            Bucket: this.#o.bucket,
            Prefix: `${dirKey}/`,
            MaxKeys: Math.min(1000, max + 1),
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
          o,
        ),
      );
      for (const c of out.Contents ?? []) if (c.Key !== undefined) keys.push(c.Key);
      if (keys.length > max) {
        throw new StorageError(
          StorageErrorCode.TooManyObjects,
          `${what}: the directory holds more than ${max} objects; renaming it would copy each one (not atomic)`,
        );
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  /**
   * Server-side copy, applying this server's storage class and encryption. `replaceMetadata` rewrites user metadata
   * (setTimes); otherwise it is copied. Above the multipart-copy threshold: UploadPartCopy in parallel ranges.
   * The source is pinned by its ETag, so a concurrent overwrite fails the copy instead of mixing versions.
   * `noOverwrite` adds If-None-Match to the multipart Complete; CopyObject has no such condition in S3's API.
   */
  async #copyObject(
    fromKey: string,
    toKey: string,
    what: string,
    signal?: AbortSignal,
    opts: { replaceMetadata?: Record<string, string>; noOverwrite?: boolean } = {},
  ): Promise<void> {
    const head = await this.#head(fromKey, what, signal);
    if (head === undefined) throw new StorageError(StorageErrorCode.NotFound, `${what}: no such file`);
    const size = head.ContentLength ?? 0;
    const source = copySource(this.#o.bucket, fromKey);
    const metadata = opts.replaceMetadata ?? head.Metadata ?? {};
    const ifMatch = head.ETag === undefined ? {} : { CopySourceIfMatch: head.ETag };
    if (size <= (this.#o.multipartCopyThresholdBytes ?? 5 * GiB)) {
      await this.#ctx.send(
        'CopyObject',
        what,
        signal,
        (o) =>
          this.#ctx.client.send(
            new CopyObjectCommand({
              Bucket: this.#o.bucket,
              Key: toKey,
              CopySource: source,
              ...ifMatch,
              MetadataDirective: 'REPLACE',
              Metadata: metadata,
              ContentType: head.ContentType ?? 'application/octet-stream',
              ...this.#ctx.writeHeaders,
            }),
            o,
          ),
        size,
      );
      return;
    }
    const created = await this.#ctx.send('CreateMultipartUpload', what, signal, (o) =>
      this.#ctx.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.#o.bucket,
          Key: toKey,
          Metadata: metadata,
          ContentType: head.ContentType ?? 'application/octet-stream',
          ...this.#ctx.writeHeaders,
        }),
        o,
      ),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new StorageError(StorageErrorCode.Failure, `${what}: S3 returned no upload id`);
    try {
      const partBytes = this.#o.copyPartBytes ?? 512 * MiB;
      const ranges: [number, number][] = [];
      for (let s = 0; s < size; s += partBytes) ranges.push([s, Math.min(size, s + partBytes) - 1]);
      const parts: CompletedPart[] = new Array(ranges.length);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < ranges.length; i = next++) {
          const [s, e] = ranges[i] as [number, number];
          const out = await this.#ctx.send(
            'UploadPartCopy',
            what,
            signal,
            (o) =>
              this.#ctx.client.send(
                new UploadPartCopyCommand({
                  Bucket: this.#o.bucket,
                  Key: toKey,
                  UploadId: uploadId,
                  PartNumber: i + 1,
                  CopySource: source,
                  CopySourceRange: `bytes=${s}-${e}`,
                  ...ifMatch,
                }),
                o,
              ),
            e - s + 1,
          );
          const etag = out.CopyPartResult?.ETag;
          if (!etag) throw new StorageError(StorageErrorCode.Failure, `${what}: S3 UploadPartCopy returned no ETag`);
          parts[i] = { PartNumber: i + 1, ETag: etag };
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#o.uploadConcurrency, ranges.length) }, worker));
      const done = await this.#ctx.send('CompleteMultipartUpload', what, signal, (o) =>
        this.#ctx.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.#o.bucket,
            Key: toKey,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
            ...(opts.noOverwrite ? { IfNoneMatch: '*' } : {}),
          }),
          o,
        ),
      );
      if (!done.ETag) {
        throw new StorageError(StorageErrorCode.Unavailable, `${what}: S3 did not confirm the multipart copy`);
      }
    } catch (err) {
      await this.#ctx
        .send('AbortMultipartUpload', what, AbortSignal.timeout(60_000), (o) =>
          this.#ctx.client.send(
            new AbortMultipartUploadCommand({ Bucket: this.#o.bucket, Key: toKey, UploadId: uploadId }),
            o,
          ),
        )
        .catch(() => undefined);
      throw err;
    }
  }
}

function directoryInfo(name: string, mtimeMs: number): FileInfo {
  return { name, kind: 'directory', size: 0, mtimeMs, atimeMs: mtimeMs };
}

function fileInfo(key: string, head: HeadObjectCommandOutput): FileInfo {
  const mtimeMs = parseTime(head.Metadata?.['mtime']) ?? head.LastModified?.getTime() ?? 0;
  return {
    name: key,
    kind: 'file',
    size: head.ContentLength ?? 0,
    mtimeMs,
    atimeMs: parseTime(head.Metadata?.['atime']) ?? mtimeMs,
    ...(head.StorageClass === undefined ? {} : { storageClass: head.StorageClass }),
  };
}
