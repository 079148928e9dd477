// Read-only S3 probes the Storage methods share: HeadObject, "is this a directory", "is this a file" from a listing,
// and every key below a prefix. Each is one or two S3 calls through the context's instrumented `send`.

import type { HeadObjectOutput } from '../../../common/src/s3/types.ts';
import { isStorageError, StorageError, StorageErrorCode } from './errors.ts';
import { parseTime } from './object-metadata.ts';
import type { S3Context } from './s3-context.ts';
import type { FileInfo } from './types.ts';

/**
 * The client-safe subject of a message: the operation and the key's last segment. The full key would reveal the
 * server prefix and the home layout, which are the operator's business, not the SFTP user's.
 */
export function subject(operation: string, key: string): string {
  return key === '' ? operation : `${operation} ${JSON.stringify(key.slice(key.lastIndexOf('/') + 1))}`;
}

export function directoryInfo(name: string, mtimeMs: number): FileInfo {
  return { name, kind: 'directory', size: 0, mtimeMs, atimeMs: mtimeMs };
}

export function fileInfo(key: string, head: HeadObjectOutput): FileInfo {
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

/** HeadObject; undefined when there is no such object (other errors throw). */
export async function head(
  ctx: S3Context,
  key: string,
  what: string,
  signal?: AbortSignal,
): Promise<HeadObjectOutput | undefined> {
  try {
    return await ctx.send('HeadObject', what, signal, (o) =>
      ctx.client.headObject({ Bucket: ctx.bucket, Key: key }, o),
    );
  } catch (err) {
    if (isStorageError(err, StorageErrorCode.NotFound)) return undefined;
    throw err;
  }
}

/**
 * Is `key` a directory (marker or any key below it)? Returns its mtime in ms (from the marker's metadata, else 0),
 * or undefined when nothing lies below the prefix. `withTime: false` skips the marker's HeadObject.
 */
export async function dirProbe(
  ctx: S3Context,
  key: string,
  signal?: AbortSignal,
  withTime = true,
): Promise<number | undefined> {
  const prefix = `${key}/`;
  const what = subject('stat', key);
  const out = await ctx.send('ListObjectsV2', what, signal, (o) =>
    ctx.client.listObjectsV2({ Bucket: ctx.bucket, Prefix: prefix, MaxKeys: 1 }, o),
  );
  const first = out.Contents?.[0];
  if (first === undefined) return undefined;
  if (first.Key !== prefix) return 0;
  const listed = first.LastModified?.getTime() ?? 0;
  if (!withTime) return listed;
  try {
    const marker = await head(ctx, prefix, what, signal);
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
export async function listedFile(
  ctx: S3Context,
  key: string,
  what: string,
  signal?: AbortSignal,
): Promise<FileInfo | undefined> {
  const out = await ctx.send('ListObjectsV2', what, signal, (o) =>
    ctx.client.listObjectsV2({ Bucket: ctx.bucket, Prefix: key, MaxKeys: 1 }, o),
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

/** The error for "no file at key": IS_DIRECTORY when a directory has that name, else NOT_FOUND. */
export async function missingFile(ctx: S3Context, key: string, signal?: AbortSignal): Promise<StorageError> {
  if (key === '' || (await dirProbe(ctx, key, signal)) !== undefined) {
    return new StorageError(StorageErrorCode.IsDirectory, `${subject('open', key)}: is a directory`);
  }
  return new StorageError(StorageErrorCode.NotFound, `${subject('open', key)}: no such file`);
}

/** One object of a listing: its key and ETag. */
export interface ListedObject {
  readonly key: string;
  readonly etag: string | undefined;
}

/** Every object under `dirKey/` (no delimiter), with its ETag. Throws TOO_MANY_OBJECTS past `max`. */
export async function keysUnder(
  ctx: S3Context,
  dirKey: string,
  max: number,
  what: string,
  signal?: AbortSignal,
): Promise<ListedObject[]> {
  const keys: ListedObject[] = [];
  let token: string | undefined;
  do {
    const out = await ctx.send('ListObjectsV2', what, signal, (o) =>
      ctx.client.listObjectsV2(
        {
          Bucket: ctx.bucket,
          Prefix: `${dirKey}/`,
          MaxKeys: Math.min(1000, max + 1),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        },
        o,
      ),
    );
    for (const c of out.Contents ?? []) if (c.Key !== undefined) keys.push({ key: c.Key, etag: c.ETag });
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
