// Rename on S3: server-side copy, then delete the source — but only the source version that was copied. An upload
// that replaced the source between the copy and the delete is newer than what the target now holds; deleting it
// would lose it. So every delete is conditional on the ETag copied:
// - every DeleteObject carries `If-Match` (one request per object, also for directories): S3 refuses atomically (412);
// - stores that ignore that condition (the test bed's MinIO does) are covered by a check just before the delete
//   (HeadObject for a file, one listing for a directory), which narrows the window to the delete's round trip.
// A source found replaced is kept; the rename then fails with a message saying the target holds the renamed version.

import { isStorageError, StorageError, StorageErrorCode } from './errors.ts';
import type { S3Context } from './s3-context.ts';
import { type CopySettings, copyObject, deleteMany } from './s3-copy.ts';
import { head, keysUnder, type ListedObject } from './s3-probe.ts';

/** Conditional DeleteObject requests in flight during a directory rename. */
const DELETES_IN_FLIGHT = 8;

/** One object copied by a rename: the source key and the ETag of the version copied. */
export type CopiedSource = ListedObject;

function replaced(what: string, n: number): StorageError {
  return new StorageError(
    StorageErrorCode.Failure,
    `${what}: ${n === 1 ? 'the source was' : `${n} source objects were`} replaced during the rename and kept; ` +
      'the target holds the version that was renamed',
  );
}

/**
 * Deletes `src.key` only if it is still the version copied. Returns false (and deletes nothing) when it was replaced;
 * true when deleted or already gone.
 */
export async function deleteIfUnchanged(
  ctx: S3Context,
  src: CopiedSource,
  what: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const now = await head(ctx, src.key, what, signal);
  if (now === undefined) return true;
  if (src.etag !== undefined && now.ETag !== src.etag) return false;
  return deleteConditional(ctx, src, what, signal);
}

/** DeleteObject with If-Match: the copied ETag. False when S3 refused it (412: replaced meanwhile). */
async function deleteConditional(
  ctx: S3Context,
  src: CopiedSource,
  what: string,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    await ctx.send('DeleteObject', what, signal, (o) =>
      ctx.client.deleteObject(
        {
          Bucket: ctx.bucket,
          Key: src.key,
          ...(src.etag === undefined ? {} : { IfMatch: src.etag }),
        },
        o,
      ),
    );
  } catch (err) {
    // 412 Precondition Failed (classified ALREADY_EXISTS): replaced between our check and the delete.
    if (isStorageError(err, StorageErrorCode.AlreadyExists)) return false;
    throw err;
  }
  return true;
}

/** Renames one file: copy, then delete the copied version only. Throws FAILURE when the source was replaced. */
export async function renameFile(
  ctx: S3Context,
  settings: CopySettings,
  fromKey: string,
  toKey: string,
  overwrite: boolean,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const copied = await copyObject(ctx, settings, fromKey, toKey, what, signal, { noOverwrite: !overwrite });
  if (!(await deleteIfUnchanged(ctx, { key: fromKey, etag: copied.ETag }, what, signal))) throw replaced(what, 1);
}

/**
 * Renames a directory of at most `max` objects: copies every object first (taking partial copies back on failure),
 * then deletes the sources still at the version copied. Throws TOO_MANY_OBJECTS before copying anything, FAILURE
 * when sources were replaced meanwhile (those are kept).
 */
export async function renameDirectory(
  ctx: S3Context,
  settings: CopySettings,
  fromKey: string,
  toKey: string,
  max: number,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const listed = await keysUnder(ctx, fromKey, max, what, signal);
  const copied: CopiedSource[] = [];
  const targets: string[] = [];
  try {
    for (const { key } of listed) {
      const target = `${toKey}/${key.slice(fromKey.length + 1)}`;
      const src = await copyObject(ctx, settings, key, target, what, signal, { noOverwrite: true });
      targets.push(target);
      copied.push({ key, etag: src.ETag });
    }
  } catch (err) {
    // The source is untouched until every copy succeeded; take back the partial copies (best effort).
    await deleteMany(ctx, targets, what, AbortSignal.timeout(60_000)).catch(() => undefined);
    throw err;
  }
  // One listing shows what changed since the copies (objects added meanwhile are not ours to delete).
  const current = new Map((await listedEtags(ctx, fromKey, max, what, signal)).map((o) => [o.key, o.etag]));
  const unchanged = copied.filter((c) => !current.has(c.key) || current.get(c.key) === c.etag);
  const kept = copied.length - unchanged.length + (await deleteUnchanged(ctx, unchanged, what, signal));
  if (kept > 0) throw replaced(what, kept);
}

/** Keys and ETags under `dirKey/`; more than 2 × max + 1,000 (many uploads meanwhile) fails rather than guess. */
async function listedEtags(
  ctx: S3Context,
  dirKey: string,
  max: number,
  what: string,
  signal?: AbortSignal,
): Promise<CopiedSource[]> {
  try {
    return await keysUnder(ctx, dirKey, 2 * max + 1000, what, signal);
  } catch (err) {
    if (!isStorageError(err, StorageErrorCode.TooManyObjects)) throw err;
    throw new StorageError(
      StorageErrorCode.Failure,
      `${what}: the directory changed during the rename; the sources were kept and the target holds the copies`,
      { cause: err },
    );
  }
}

/**
 * DeleteObject with If-Match per object, a few in flight: S3 honours If-Match on DeleteObject (moto shows it), while
 * DeleteObjects' per-object ETag is not enforced by every S3 API (moto ignores it). Returns how many were refused as
 * replaced (kept).
 */
async function deleteUnchanged(
  ctx: S3Context,
  objects: readonly CopiedSource[],
  what: string,
  signal?: AbortSignal,
): Promise<number> {
  let kept = 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < objects.length; i = next++) {
      if (!(await deleteConditional(ctx, objects[i] as CopiedSource, what, signal))) kept++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELETES_IN_FLIGHT, objects.length) }, worker));
  return kept;
}
