// The one post-upload metadata mechanism: object tags. What is known before an object's first request rides in its
// user metadata (a single PutObject: times and hashes); what is known only later — a multipart upload's hashes after
// its last part, times a client sets after CreateMultipartUpload (`put -p`) or with SETSTAT on a stored file — is
// written by ONE PutObjectTagging (`sftpgate-sha256`, `sftpgate-md5`, `sftpgate-mtime`, `sftpgate-atime`), never by
// copying the object onto itself. Readers take the metadata, then let the tags override it: HeadObject reports how
// many tags an object has (TagCount), so an untagged object costs no second request.
import type { HeadObjectOutput, Tag } from '../../../common/src/s3/types.ts';
import { isStorageError, StorageError, StorageErrorCode } from './errors.ts';
import { ATIME_TAG, MTIME_TAG, type ObjectTimes, parseTagTimes, timeTags } from './object-metadata.ts';
import type { S3Context } from './s3-context.ts';
import type { FileInfo, UploadDigests } from './types.ts';
import { digestTags, parseDigestMetadata, parseDigestTags } from './upload-hash.ts';

/** S3's limit on tags per object. */
const MAX_TAGS = 10;

/** PutObjectTagging replacing the object's whole tag set. Throws StorageError. */
export async function putTags(
  ctx: S3Context,
  key: string,
  what: string,
  tags: readonly Tag[],
  signal?: AbortSignal,
): Promise<void> {
  await ctx.send('PutObjectTagging', what, signal, (o) =>
    ctx.client.putObjectTagging({ Bucket: ctx.bucket, Key: key, Tagging: { TagSet: [...tags] } }, o),
  );
}

/** The tags of a just-completed multipart upload: its digests and its final times, in one request. */
export function uploadTags(d: UploadDigests | undefined, times: ObjectTimes): Tag[] {
  return [...(d ? digestTags(d) : []), ...timeTags(times)];
}

/**
 * The object's tags; undefined when the login may not read them (a session policy without s3:GetObjectTagging: the
 * times and hashes then come from the metadata alone). Other failures throw StorageError.
 */
export async function readTags(
  ctx: S3Context,
  key: string,
  what: string,
  signal?: AbortSignal,
): Promise<Tag[] | undefined> {
  try {
    const out = await ctx.send('GetObjectTagging', what, signal, (o) =>
      ctx.client.getObjectTagging({ Bucket: ctx.bucket, Key: key }, o),
    );
    return out.TagSet ?? [];
  } catch (err) {
    if (isStorageError(err, StorageErrorCode.PermissionDenied)) return undefined;
    throw err;
  }
}

/** Tags of an object HeadObject described: one GetObjectTagging only when it reported tags. */
async function tagsOf(
  ctx: S3Context,
  key: string,
  found: HeadObjectOutput,
  what: string,
  signal?: AbortSignal,
): Promise<Tag[] | undefined> {
  return (found.TagCount ?? 0) > 0 ? readTags(ctx, key, what, signal) : undefined;
}

/** `info` (from HeadObject's metadata) with the times its tags carry, if any. */
export async function withTaggedTimes(
  ctx: S3Context,
  key: string,
  info: FileInfo,
  found: HeadObjectOutput,
  what: string,
  signal?: AbortSignal,
): Promise<FileInfo> {
  const times = parseTagTimes(await tagsOf(ctx, key, found, what, signal));
  return times === undefined ? info : { ...info, ...times };
}

/**
 * SETSTAT times of a stored file: one PutObjectTagging (after reading the tags it keeps, when the object has any).
 * The object, its ETag and LastModified stay as they are: no copy, no new version.
 */
export async function retagTimes(
  ctx: S3Context,
  key: string,
  found: HeadObjectOutput,
  times: ObjectTimes,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const kept = ((await tagsOf(ctx, key, found, what, signal)) ?? []).filter(
    (t) => t.Key !== MTIME_TAG && t.Key !== ATIME_TAG,
  );
  const tags = [...kept, ...timeTags(times)];
  if (tags.length > MAX_TAGS) {
    throw new StorageError(
      StorageErrorCode.Failure,
      `${what}: the object already has ${kept.length} tags; its times need 2 more and S3 allows ${MAX_TAGS}`,
    );
  }
  await putTags(ctx, key, what, tags, signal);
}

/** The digests stored with an object; undefined when it has none. Throws StorageError (NOT_FOUND for no object). */
export async function readDigests(
  ctx: S3Context,
  key: string,
  what: string,
  signal?: AbortSignal,
): Promise<UploadDigests | undefined> {
  const found = await ctx.send('HeadObject', what, signal, (o) =>
    ctx.client.headObject({ Bucket: ctx.bucket, Key: key }, o),
  );
  const fromMetadata = parseDigestMetadata(found.Metadata);
  if (fromMetadata) return fromMetadata;
  // Stores that do not report TagCount on HeadObject: ask anyway, the hashes of a multipart upload live there.
  if (found.TagCount === 0) return undefined;
  return parseDigestTags(await readTags(ctx, key, what, signal));
}
