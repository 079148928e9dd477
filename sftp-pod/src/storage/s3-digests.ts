// Stores and reads an upload's digests (upload-hash.ts): PutObjectTagging after a multipart upload completed (its
// hash is known only then); a single PutObject carried them as user metadata instead. Reading checks the metadata
// (HeadObject) first, then the tags.
import { GetObjectTaggingCommand, HeadObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import type { S3Context } from './s3-context.ts';
import type { UploadDigests } from './types.ts';
import { digestTags, parseDigestMetadata, parseDigestTags } from './upload-hash.ts';

/** PutObjectTagging with the digests. Throws StorageError (the caller decides whether that fails anything). */
export async function tagDigests(
  ctx: S3Context,
  key: string,
  what: string,
  d: UploadDigests,
  signal?: AbortSignal,
): Promise<void> {
  await ctx.send('PutObjectTagging', what, signal, (o) =>
    ctx.client.send(
      new PutObjectTaggingCommand({ Bucket: ctx.bucket, Key: key, Tagging: { TagSet: digestTags(d) } }),
      o,
    ),
  );
}

/** The digests stored with an object; undefined when it has none. Throws StorageError (NOT_FOUND for no object). */
export async function readDigests(
  ctx: S3Context,
  key: string,
  what: string,
  signal?: AbortSignal,
): Promise<UploadDigests | undefined> {
  const head = await ctx.send('HeadObject', what, signal, (o) =>
    ctx.client.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: key }), o),
  );
  const fromMetadata = parseDigestMetadata(head.Metadata);
  if (fromMetadata) return fromMetadata;
  const out = await ctx.send('GetObjectTagging', what, signal, (o) =>
    ctx.client.send(new GetObjectTaggingCommand({ Bucket: ctx.bucket, Key: key }), o),
  );
  return parseDigestTags(out.TagSet);
}
