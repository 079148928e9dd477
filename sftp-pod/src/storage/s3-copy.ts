// Server-side copies and deletes: CopyObject (UploadPartCopy above the multipart-copy threshold), DeleteObject and
// DeleteObjects in batches. No bytes pass through the pod.

import type { CompletedPart, HeadObjectOutput } from '../../../common/src/s3/types.ts';
import { isStorageError, StorageError, StorageErrorCode } from './errors.ts';
import type { S3Context } from './s3-context.ts';
import { readTags } from './s3-digests.ts';
import { head } from './s3-probe.ts';

export interface CopySettings {
  /** Objects above this are copied with UploadPartCopy (CopyObject's S3 maximum is 5 GiB). */
  readonly multipartCopyThresholdBytes: number;
  /** UploadPartCopy range size. */
  readonly copyPartBytes: number;
  /** UploadPartCopy requests in flight. */
  readonly concurrency: number;
}

export interface CopyOptions {
  /** Adds If-None-Match to the multipart Complete; CopyObject has no such condition in S3's API. */
  readonly noOverwrite?: boolean;
}

/**
 * CopySourceIfMatch refused (412, classified ALREADY_EXISTS): the source was replaced after we looked at it. Say so,
 * instead of the "target exists" an ALREADY_EXISTS would suggest; nothing was copied.
 */
async function sourceChanged<T>(what: string, request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (!isStorageError(err, StorageErrorCode.AlreadyExists)) throw err;
    throw new StorageError(
      StorageErrorCode.Failure,
      `${what}: the source changed during the copy; nothing was copied`,
      {
        cause: err,
      },
    );
  }
}

function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Server-side copy, applying this server's storage class and encryption. The source is pinned by its ETag, so a
 * concurrent overwrite fails the copy instead of mixing versions. Returns the source's HeadObject (the version that was
 * copied). Throws NOT_FOUND when the source is gone.
 */
export async function copyObject(
  ctx: S3Context,
  settings: CopySettings,
  fromKey: string,
  toKey: string,
  what: string,
  signal?: AbortSignal,
  opts: CopyOptions = {},
): Promise<HeadObjectOutput> {
  const src = await head(ctx, fromKey, what, signal);
  if (src === undefined) throw new StorageError(StorageErrorCode.NotFound, `${what}: no such file`);
  const size = src.ContentLength ?? 0;
  const source = copySource(ctx.bucket, fromKey);
  const metadata = src.Metadata ?? {};
  const ifMatch = src.ETag === undefined ? {} : { CopySourceIfMatch: src.ETag };
  if (size <= settings.multipartCopyThresholdBytes) {
    await sourceChanged(
      what,
      ctx.send(
        'CopyObject',
        what,
        signal,
        (o) =>
          ctx.client.copyObject(
            {
              Bucket: ctx.bucket,
              Key: toKey,
              CopySource: source,
              ...ifMatch,
              MetadataDirective: 'REPLACE',
              Metadata: metadata,
              ContentType: src.ContentType ?? 'application/octet-stream',
              ...ctx.writeHeaders,
            },
            o,
          ),
        size,
      ),
    );
    return src;
  }
  // CopyObject copies the tags (times and hashes, s3-digests.ts); a multipart copy must carry them itself.
  const tags = (src.TagCount ?? 0) > 0 ? await readTags(ctx, fromKey, what, signal) : undefined;
  const tagging = tags?.map((t) => `${encodeURIComponent(t.Key ?? '')}=${encodeURIComponent(t.Value ?? '')}`).join('&');
  const created = await ctx.send('CreateMultipartUpload', what, signal, (o) =>
    ctx.client.createMultipartUpload(
      {
        Bucket: ctx.bucket,
        Key: toKey,
        Metadata: metadata,
        ContentType: src.ContentType ?? 'application/octet-stream',
        ...(tagging ? { Tagging: tagging } : {}),
        ...ctx.writeHeaders,
      },
      o,
    ),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new StorageError(StorageErrorCode.Failure, `${what}: S3 returned no upload id`);
  try {
    const ranges: [number, number][] = [];
    for (let s = 0; s < size; s += settings.copyPartBytes) {
      ranges.push([s, Math.min(size, s + settings.copyPartBytes) - 1]);
    }
    const parts: CompletedPart[] = new Array(ranges.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < ranges.length; i = next++) {
        const [s, e] = ranges[i] as [number, number];
        const out = await sourceChanged(
          what,
          ctx.send(
            'UploadPartCopy',
            what,
            signal,
            (o) =>
              ctx.client.uploadPartCopy(
                {
                  Bucket: ctx.bucket,
                  Key: toKey,
                  UploadId: uploadId,
                  PartNumber: i + 1,
                  CopySource: source,
                  CopySourceRange: `bytes=${s}-${e}`,
                  ...ifMatch,
                },
                o,
              ),
            e - s + 1,
          ),
        );
        const etag = out.CopyPartResult?.ETag;
        if (!etag) throw new StorageError(StorageErrorCode.Failure, `${what}: S3 UploadPartCopy returned no ETag`);
        parts[i] = { PartNumber: i + 1, ETag: etag };
      }
    };
    await Promise.all(Array.from({ length: Math.min(settings.concurrency, ranges.length) }, worker));
    const done = await ctx.send('CompleteMultipartUpload', what, signal, (o) =>
      ctx.client.completeMultipartUpload(
        {
          Bucket: ctx.bucket,
          Key: toKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          ...(opts.noOverwrite ? { IfNoneMatch: '*' } : {}),
        },
        o,
      ),
    );
    if (!done.ETag) {
      throw new StorageError(StorageErrorCode.Unavailable, `${what}: S3 did not confirm the multipart copy`);
    }
    return src;
  } catch (err) {
    await ctx
      .send('AbortMultipartUpload', what, AbortSignal.timeout(60_000), (o) =>
        ctx.client.abortMultipartUpload({ Bucket: ctx.bucket, Key: toKey, UploadId: uploadId }, o),
      )
      .catch(() => undefined);
    throw err;
  }
}

export async function deleteObject(ctx: S3Context, key: string, what: string, signal?: AbortSignal): Promise<void> {
  await ctx.send('DeleteObject', what, signal, (o) => ctx.client.deleteObject({ Bucket: ctx.bucket, Key: key }, o));
}

/** DeleteObjects in batches of 1,000; any per-key error fails the call. */
export async function deleteMany(
  ctx: S3Context,
  keys: readonly string[],
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const out = await ctx.send('DeleteObjects', what, signal, (o) =>
      ctx.client.deleteObjects(
        {
          Bucket: ctx.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        },
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
