// Aborts incomplete multipart uploads older than a set age under one server prefix. S3's lifecycle action
// AbortIncompleteMultipartUpload (bucket-manager.ts) does this on AWS, but MinIO and other S3-compatible stores drop or
// ignore that action, so an upload whose pod died mid-transfer (SIGKILL, node loss) would keep its parts — and their
// cost — forever. The age is the one setting; it must exceed the longest transfer a client may take, since an upload
// still in flight is indistinguishable from an orphan here.
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandOutput,
  type MultipartUpload,
  type S3Client,
} from '@aws-sdk/client-s3';
import { dirKey } from './bucket-manager.ts';
import { classifyS3Error } from './errors.ts';
import { listObjectPages } from './list-pages.ts';

export interface SweepResult {
  /** Uploads aborted by this call. */
  readonly aborted: number;
  /** Uploads under the prefix left alone (younger than the age). */
  readonly kept: number;
  /** Resumable-upload state objects deleted (sweepResumeStates). */
  readonly statesDeleted?: number;
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

/**
 * The pods' resumable-upload state objects, `<prefix>/.sftpgate/uploads/<user>/<sha256(key)>.json` (the sftp pod's
 * storage/resume-state.ts; docs/storage.md "Resumable uploads"). The two components never import each other, so the
 * layout is repeated here.
 */
export const RESUME_STATE_DIR = '.sftpgate/uploads/';

/** The upload a state object names, only if its key lies under `prefix/` (a state is never trusted beyond it). Pure. */
export function stateUpload(text: string, prefix: string): { key: string; uploadId: string } | undefined {
  try {
    const s = JSON.parse(text) as { key?: unknown; uploadId?: unknown };
    if (typeof s.key !== 'string' || typeof s.uploadId !== 'string' || s.uploadId === '') return undefined;
    if (!s.key.startsWith(dirKey(prefix)) || s.key.startsWith(`${dirKey(prefix)}${RESUME_STATE_DIR}`)) return undefined;
    return { key: s.key, uploadId: s.uploadId };
  } catch {
    return undefined;
  }
}

/**
 * Deletes the state objects of interrupted uploads saved more than `maxAgeMs` before `now`, aborting the multipart
 * upload each names first (by exact key and id, which also works on MinIO, whose uploads cannot be listed by
 * prefix). Idempotent; throws S3ManagerError.
 */
export async function sweepResumeStates(
  client: S3Client,
  bucket: string,
  prefix: string,
  maxAgeMs: number,
  opts: { readonly now?: Date; readonly signal?: AbortSignal } = {},
): Promise<{ readonly aborted: number; readonly statesDeleted: number }> {
  const cutoff = new Date((opts.now ?? new Date()).getTime() - maxAgeMs);
  const send = opts.signal ? { abortSignal: opts.signal } : {};
  const dir = `${dirKey(prefix)}${RESUME_STATE_DIR}`;
  let aborted = 0;
  let statesDeleted = 0;
  for await (const page of listObjectPages(client, bucket, dir, opts.signal)) {
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined || !o.LastModified || o.LastModified >= cutoff) continue;
      try {
        const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }), send);
        const upload = stateUpload((await body.Body?.transformToString()) ?? '', prefix);
        if (upload) {
          await client
            .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId }), send)
            .then(
              () => aborted++,
              (err: { name?: string }) => {
                if (err.name !== 'NoSuchUpload') throw err;
              },
            );
        }
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }), send);
        statesDeleted++;
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') continue; // deleted meanwhile (resumed, or another replica)
        throw classifyS3Error(err, `sweep ${bucket}/${o.Key}`);
      }
    }
  }
  return { aborted, statesDeleted };
}

/** One prefix to sweep: a server's bucket (through its manager) and prefix, and a name for logs. */
export interface SweepTarget {
  readonly name: string;
  readonly prefix: string;
  readonly sweep: (prefix: string, maxAgeMs: number, signal?: AbortSignal) => Promise<SweepResult>;
}

/** How often to sweep for a given age: a quarter of it, between 1 s and 10 min. Pure. */
export function sweepIntervalMs(maxAgeMs: number): number {
  return Math.min(10 * 60_000, Math.max(1_000, Math.floor(maxAgeMs / 4)));
}

/**
 * Sweeps every target now and then until `signal` fires. A failing target is reported and retried next round; the
 * loop never throws. Idempotent across replicas (an upload aborted twice is simply gone).
 */
export async function runMultipartSweeper(o: {
  readonly targets: () => SweepTarget[];
  readonly maxAgeMs: number;
  readonly signal: AbortSignal;
  readonly onResult: (target: string, result: SweepResult | { error: unknown }) => void;
}): Promise<void> {
  const interval = sweepIntervalMs(o.maxAgeMs);
  while (!o.signal.aborted) {
    for (const t of o.targets()) {
      if (o.signal.aborted) return;
      try {
        o.onResult(t.name, await t.sweep(t.prefix, o.maxAgeMs, o.signal));
      } catch (error) {
        if (!o.signal.aborted) o.onResult(t.name, { error });
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, interval);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      o.signal.addEventListener('abort', wake, { once: true });
    });
  }
}
