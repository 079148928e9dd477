// The S3 requests of one upload, without state: PutObject (the whole file in one request), and the multipart
// sequence CreateMultipartUpload → UploadPart × n → CompleteMultipartUpload, or AbortMultipartUpload. The driver
// (upload-sink.ts) decides when each is sent; each call here confirms what S3 answered or throws a StorageError.

import { bodyLength } from '../../../common/src/s3/payload.ts';
import type { BodyInput, CompletedPart } from '../../../common/src/s3/types.ts';
import { isStorageError, StorageError, StorageErrorCode } from './errors.ts';
import type { S3Context } from './s3-context.ts';

export interface ObjectTarget {
  readonly ctx: S3Context;
  readonly key: string;
  /** Client-safe subject for messages. */
  readonly what: string;
}

/** `If-None-Match: *` unless the upload may replace an existing object. */
function noOverwrite(overwrite: boolean): { IfNoneMatch?: string } {
  return overwrite ? {} : { IfNoneMatch: '*' };
}

/**
 * The conditional final request lost the race (412: an object appeared at the key after OPEN checked): say so in
 * words the SFTP client shows, keeping the code ALREADY_EXISTS. Nothing of this upload was stored.
 */
async function createdMeanwhile<T>(what: string, request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (!isStorageError(err, StorageErrorCode.AlreadyExists)) throw err;
    throw new StorageError(
      StorageErrorCode.AlreadyExists,
      `${what}: the file was created by someone else during this upload and may not be replaced; nothing was stored`,
      { cause: err },
    );
  }
}

/** One PutObject of the whole body. Throws ALREADY_EXISTS when `overwrite` is false and the key exists. */
export async function putObject(
  t: ObjectTarget,
  body: BodyInput,
  metadata: Record<string, string>,
  overwrite: boolean,
  signal: AbortSignal,
): Promise<void> {
  const { ctx, key, what } = t;
  const bytes = bodyLength(body);
  const request = ctx.send(
    'PutObject',
    what,
    signal,
    (o) =>
      ctx.client.putObject(
        {
          Bucket: ctx.bucket,
          Key: key,
          Body: body,
          ContentLength: bytes,
          ContentType: 'application/octet-stream',
          Metadata: metadata,
          ...ctx.writeHeaders,
          ...noOverwrite(overwrite),
        },
        o,
      ),
    bytes,
  );
  await createdMeanwhile(what, request);
}

/** CreateMultipartUpload; resolves to the upload id. */
export async function createUpload(
  t: ObjectTarget,
  metadata: Record<string, string>,
  signal: AbortSignal,
): Promise<string> {
  const { ctx, key, what } = t;
  const out = await ctx.send('CreateMultipartUpload', what, signal, (o) =>
    ctx.client.createMultipartUpload(
      {
        Bucket: ctx.bucket,
        Key: key,
        Metadata: metadata,
        ContentType: 'application/octet-stream',
        ...ctx.writeHeaders,
      },
      o,
    ),
  );
  if (!out.UploadId) throw new StorageError(StorageErrorCode.Failure, `${what}: S3 returned no upload id`);
  return out.UploadId;
}

/** UploadPart; resolves to what CompleteMultipartUpload needs (ETag and any checksum S3 returned). */
export async function uploadPart(
  t: ObjectTarget,
  uploadId: string,
  n: number,
  body: BodyInput,
  signal: AbortSignal,
): Promise<CompletedPart> {
  const { ctx, key, what } = t;
  const bytes = bodyLength(body);
  const started = performance.now();
  const out = await ctx.send(
    'UploadPart',
    what,
    signal,
    (o) =>
      ctx.client.uploadPart(
        {
          Bucket: ctx.bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: n,
          Body: body,
          ContentLength: bytes,
        },
        o,
      ),
    bytes,
  );
  if (!out.ETag) throw new StorageError(StorageErrorCode.Failure, `${what}: S3 UploadPart returned no ETag`);
  ctx.metrics.partUploaded?.((performance.now() - started) / 1000, bytes);
  const done: CompletedPart = { PartNumber: n, ETag: out.ETag };
  if (out.ChecksumCRC32 !== undefined) done.ChecksumCRC32 = out.ChecksumCRC32;
  if (out.ChecksumCRC32C !== undefined) done.ChecksumCRC32C = out.ChecksumCRC32C;
  if (out.ChecksumCRC64NVME !== undefined) done.ChecksumCRC64NVME = out.ChecksumCRC64NVME;
  if (out.ChecksumSHA1 !== undefined) done.ChecksumSHA1 = out.ChecksumSHA1;
  if (out.ChecksumSHA256 !== undefined) done.ChecksumSHA256 = out.ChecksumSHA256;
  return done;
}

/**
 * CompleteMultipartUpload with the parts in order. Resolves only when S3 confirmed the object with an ETag: the SDK
 * turns a 200 whose body ends in </Error> into a retried 503, but a body it could not recognise (extra bytes after
 * </Error>, an empty result) parses into an output without an ETag — not a confirmation either (UNAVAILABLE).
 */
export async function completeUpload(
  t: ObjectTarget,
  uploadId: string,
  parts: readonly CompletedPart[],
  overwrite: boolean,
  signal: AbortSignal,
): Promise<void> {
  const { ctx, key, what } = t;
  const sorted = [...parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
  const request = ctx.send('CompleteMultipartUpload', what, signal, (o) =>
    ctx.client.completeMultipartUpload(
      {
        Bucket: ctx.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: sorted },
        ...noOverwrite(overwrite),
      },
      o,
    ),
  );
  const out = await createdMeanwhile(what, request);
  if (!out.ETag) {
    throw new StorageError(
      StorageErrorCode.Unavailable,
      `${what}: S3 CompleteMultipartUpload answered without confirming the object`,
    );
  }
}

/** AbortMultipartUpload with its own 60 s deadline. Never throws (the bucket's lifecycle rule is the backstop). */
export async function abortUpload(t: ObjectTarget, uploadId: string): Promise<void> {
  const { ctx, key, what } = t;
  try {
    await ctx.send('AbortMultipartUpload', what, AbortSignal.timeout(60_000), (o) =>
      ctx.client.abortMultipartUpload({ Bucket: ctx.bucket, Key: key, UploadId: uploadId }, o),
    );
  } catch {
    // Counted in s3Request metrics; the AbortIncompleteMultipartUpload lifecycle rule cleans up.
  }
}
