// Measuring a user's usage (docs/operations.md "Quotas"): ListObjectsV2 over each prefix, paginated (1,000 keys per
// request), summing current versions only (noncurrent versions and incomplete multipart uploads are not listed), and
// writing the result where the pods read it. Directory markers (keys ending in `/`) are not files.
import { DeleteObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { UsageMeasurement } from '../../../../common/src/quota/usage-document.ts';
import { dirKey } from './bucket-manager.ts';
import { classifyS3Error } from './errors.ts';
import { listObjectPages } from './list-pages.ts';

export interface MeasuredUsage {
  readonly bytes: number;
  readonly files: number;
  /** ListObjectsV2 requests made (the cost: docs/operations.md). */
  readonly requests: number;
}

/** Sums objects under each `prefix/`. Prefixes must not nest (controllers/usage/prefixes.ts dedupes). */
export async function measurePrefixes(
  client: S3Client,
  bucket: string,
  prefixes: readonly string[],
  signal?: AbortSignal,
): Promise<MeasuredUsage> {
  let bytes = 0;
  let files = 0;
  let requests = 0;
  for (const prefix of prefixes) {
    for await (const page of listObjectPages(client, bucket, dirKey(prefix), signal)) {
      requests++;
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith('/')) continue;
        bytes += o.Size ?? 0;
        files++;
      }
    }
  }
  return { bytes, files, requests };
}

/** Writes the measurement object the pods read (common/src/quota/usage-document.ts). */
export async function writeMeasurement(
  client: S3Client,
  bucket: string,
  key: string,
  doc: UsageMeasurement,
  extra: { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string } = {},
  signal?: AbortSignal,
): Promise<void> {
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(doc),
        ContentType: 'application/json',
        ...extra,
      }),
      signal ? { abortSignal: signal } : {},
    );
  } catch (err) {
    throw classifyS3Error(err, `PutObject ${bucket}/${key}`);
  }
}

/**
 * Deletes pods' usage objects under `podsPrefix` not written since `before` (S3's LastModified): pods that are gone
 * (every rolling update leaves one per user it served) or idle so long that everything they published is in the
 * measurement and their lease expired. A pod that publishes again simply writes a new object. One ListObjectsV2 per
 * 1,000 objects, one DeleteObjects per 1,000 stale ones. Returns how many were deleted.
 */
export async function pruneStalePodUsage(
  client: S3Client,
  bucket: string,
  podsPrefix: string,
  before: Date,
  signal?: AbortSignal,
): Promise<number> {
  const send = signal ? { abortSignal: signal } : {};
  let deleted = 0;
  for await (const page of listObjectPages(client, bucket, podsPrefix, signal)) {
    const stale = (page.Contents ?? []).filter((o) => o.Key && o.LastModified && o.LastModified < before);
    if (stale.length > 0) {
      try {
        await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: stale.map((o) => ({ Key: o.Key as string })), Quiet: true },
          }),
          send,
        );
      } catch (err) {
        throw classifyS3Error(err, `DeleteObjects ${bucket}/${podsPrefix}`);
      }
      deleted += stale.length;
    }
  }
  return deleted;
}
