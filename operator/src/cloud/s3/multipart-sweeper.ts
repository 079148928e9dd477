// Aborts incomplete multipart uploads older than a set age under one server prefix. S3's lifecycle action
// AbortIncompleteMultipartUpload (bucket-manager.ts) does this on AWS, but MinIO and other S3-compatible stores drop or
// ignore that action, so an upload whose pod died mid-transfer (SIGKILL, node loss) would keep its parts — and their
// cost — forever. The age is the one setting; it must exceed the longest transfer a client may take, since an upload
// still in flight is indistinguishable from an orphan here.
import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandOutput,
  type MultipartUpload,
  type S3Client,
} from '@aws-sdk/client-s3';
import { dirKey } from './bucket-manager.ts';
import { classifyS3Error } from './errors.ts';

export interface SweepResult {
  /** Uploads aborted by this call. */
  readonly aborted: number;
  /** Uploads under the prefix left alone (younger than the age). */
  readonly kept: number;
}

/** The uploads initiated before `cutoff` (uploads without a date or id are kept: nothing proves them stale). Pure. */
export function staleUploads(uploads: readonly MultipartUpload[], cutoff: Date): MultipartUpload[] {
  return uploads.filter((u) => u.Key !== undefined && u.UploadId && u.Initiated && u.Initiated < cutoff);
}

/**
 * Aborts every multipart upload under `<prefix>/` in `bucket` initiated more than `maxAgeMs` before `now`.
 * Idempotent: an upload completed or aborted meanwhile (NoSuchUpload) counts as gone. Throws S3ManagerError.
 */
export async function sweepIncompleteUploads(
  client: S3Client,
  bucket: string,
  prefix: string,
  maxAgeMs: number,
  opts: { readonly now?: Date; readonly signal?: AbortSignal } = {},
): Promise<SweepResult> {
  const cutoff = new Date((opts.now ?? new Date()).getTime() - maxAgeMs);
  const send = opts.signal ? { abortSignal: opts.signal } : {};
  let aborted = 0;
  let kept = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    let page: ListMultipartUploadsCommandOutput;
    try {
      page = await client.send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          Prefix: dirKey(prefix),
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
        }),
        send,
      );
    } catch (err) {
      throw classifyS3Error(err, `ListMultipartUploads ${bucket}/${dirKey(prefix)}`);
    }
    const uploads = page.Uploads ?? [];
    const stale = staleUploads(uploads, cutoff);
    kept += uploads.length - stale.length;
    for (const u of stale) {
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }), send);
        aborted++;
      } catch (err) {
        if ((err as { name?: string }).name !== 'NoSuchUpload') {
          throw classifyS3Error(err, `AbortMultipartUpload ${bucket}/${u.Key ?? ''}`);
        }
      }
    }
    if (!page.IsTruncated) return { aborted, kept };
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
    if (keyMarker === undefined && uploadIdMarker === undefined) return { aborted, kept };
  }
}
