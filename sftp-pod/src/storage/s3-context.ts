// What the S3 storage pieces (storage, upload sink, read source) share: the client, bucket, write settings, the
// pod's byte budget, metrics, and one instrumented `send` so every S3 call is timed and classified the same way.

import type { S3Client } from '../../../common/src/s3/client.ts';
import type { ByteBudget } from './budget.ts';
import type { BufferPool } from './buffer-pool.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import type { StorageMetrics } from './metrics.ts';
import { classifyS3Error } from './s3-errors.ts';

export type ServerSideEncryption =
  | { readonly type: 'AES256' }
  | { readonly type: 'aws:kms'; readonly kmsKeyId?: string };

/** S3's storage classes (what x-amz-storage-class accepts). */
const STORAGE_CLASSES: ReadonlySet<string> = new Set([
  'AWS_BACKUP_LOW_COST_WARM',
  'AWS_BACKUP_WARM',
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'OUTPOSTS',
  'GLACIER_IR',
  'SNOW',
  'EXPRESS_ONEZONE',
  'FSX_OPENZFS',
  'FSX_ONTAP',
]);

export interface WriteHeaders {
  StorageClass?: string;
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
}

/** Per-call options handed to each client call (`client.putObject(input, options)`). */
export interface SendOptions {
  abortSignal?: AbortSignal;
}

export interface S3Context {
  readonly client: S3Client;
  readonly bucket: string;
  readonly podBudget: ByteBudget;
  /** Free part buffers for reuse (shared by the storages of one pod when they share a context's pool). */
  readonly pool: BufferPool;
  readonly metrics: StorageMetrics;
  /** StorageClass and SSE headers, applied to every write (PutObject, CreateMultipartUpload, CopyObject). */
  readonly writeHeaders: WriteHeaders;
  /**
   * Runs one S3 call (`(o) => client.putObject({...}, o)`), reports it to metrics, and rethrows failures as
   * StorageError (classified). A callback keeps each operation's own output type.
   */
  send<T>(
    operation: string,
    what: string,
    signal: AbortSignal | undefined,
    call: (o: SendOptions) => Promise<T>,
    bodyBytes?: number,
  ): Promise<T>;
}

/** Builds the headers every write carries. Throws RangeError for a storage class S3 does not define. */
export function makeWriteHeaders(
  storageClass: string | undefined,
  sse: ServerSideEncryption | undefined,
): WriteHeaders {
  const h: WriteHeaders = {};
  if (storageClass !== undefined) {
    if (!isStorageClass(storageClass)) throw new RangeError(`unknown S3 storage class ${JSON.stringify(storageClass)}`);
    h.StorageClass = storageClass;
  }
  if (sse !== undefined) {
    h.ServerSideEncryption = sse.type;
    if (sse.type === 'aws:kms' && sse.kmsKeyId !== undefined) h.SSEKMSKeyId = sse.kmsKeyId;
  }
  return h;
}

/** Slowest S3 link a body upload is allowed before its own deadline fires (the timeout grows with the body). */
const MIN_BYTES_PER_SECOND = 256 * 1024;

/**
 * `requestTimeoutMs` bounds every call on our side (plus time for the body at 256 KiB/s), whatever the injected
 * client's handler does: the SDK's own requestTimeout only logs a warning unless throwOnRequestTimeout is set, and a
 * stalled S3 would otherwise hold an upload (and its budget) forever.
 */
export function makeContext(
  client: S3Client,
  bucket: string,
  podBudget: ByteBudget,
  metrics: StorageMetrics,
  writeHeaders: WriteHeaders,
  requestTimeoutMs: number,
  pool: BufferPool,
): S3Context {
  return {
    client,
    bucket,
    podBudget,
    pool,
    metrics,
    writeHeaders,
    async send<T>(
      operation: string,
      what: string,
      signal: AbortSignal | undefined,
      call: (o: SendOptions) => Promise<T>,
      bodyBytes = 0,
    ) {
      const started = performance.now();
      const limitMs = requestTimeoutMs + Math.ceil((bodyBytes / MIN_BYTES_PER_SECOND) * 1000);
      const deadline = AbortSignal.timeout(limitMs);
      const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
      try {
        const out = await call({ abortSignal: combined });
        metrics.s3Request?.(operation, 'ok', (performance.now() - started) / 1000);
        return out;
      } catch (err) {
        let failure: StorageError;
        if (signal?.aborted) {
          // An abort from the caller's signal surfaces as the SDK's AbortError; keep the reason visible.
          failure = classifyS3Error(
            Object.assign(new Error('aborted', { cause: err }), { name: 'AbortError' }),
            operation,
            what,
          );
        } else if (deadline.aborted) {
          failure = new StorageError(
            StorageErrorCode.Unavailable,
            `${what}: S3 ${operation} did not answer within ${Math.round(limitMs / 1000)} s`,
            { cause: err },
          );
        } else {
          failure = classifyS3Error(err, operation, what);
        }
        // "No such key" is an answer, not a failed request: stat probes HeadObject before a directory listing, and
        // counting those as errors would make the S3 error-rate alert fire on `ls`.
        const result = failure.code === StorageErrorCode.NotFound ? 'ok' : 'error';
        metrics.s3Request?.(operation, result, (performance.now() - started) / 1000);
        throw failure;
      }
    },
  };
}

function isStorageClass(s: string): boolean {
  return STORAGE_CLASSES.has(s);
}
