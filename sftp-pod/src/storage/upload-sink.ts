// One upload: SFTP WRITEs become S3 multipart parts, or a single PutObject when the file ends inside its first part.
//
// Memory: each part is one buffer of exactly its size, allocated when the first byte for it arrives, and its size is
// taken from the pod's ByteBudget before that (so write() waits — backpressure — when the pod is full). It is given
// back when S3 confirms the part. Held bytes per upload stay <= max(perUploadBudgetBytes, 3 parts), and the parts a
// sink may hold are: the current part, up to two parts ahead (the reorder window) and the parts queued or in flight.
//
// Ordering: bytes before the current part were sent to S3 and can't be rewritten; a write reaching more than two
// parts past the current one, or overlapping bytes already received, fails with INVALID_WRITE; at commit a gap fails.

import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { StorageError, StorageErrorCode } from './errors.ts';
import { MAX_OBJECT_BYTES, MAX_PARTS, partAt, partSize, partStart } from './part-size.ts';
import type { S3Context } from './s3-context.ts';
import type { WriteSink } from './types.ts';

/** How many parts past the current one a write may reach (out-of-order writes from pipelining clients). */
export const REORDER_WINDOW_PARTS = 2;

export interface UploadSinkOptions {
  readonly ctx: S3Context;
  readonly key: string;
  /** Client-safe description for messages ("upload /a/b" style, no bucket). */
  readonly what: string;
  readonly basePartSize: number;
  readonly uploadConcurrency: number;
  readonly perUploadBudgetBytes: number;
  readonly overwrite: boolean;
  /** User metadata (user, session); mtime/atime are added by the sink. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Called after the object is confirmed with times that differ from those sent at CreateMultipartUpload. */
  readonly replaceTimes: (atimeMs: number, mtimeMs: number, signal?: AbortSignal) => Promise<void>;
}

interface Part {
  readonly n: number;
  readonly start: number;
  readonly size: number;
  buf: Buffer | undefined;
  /** Received byte ranges relative to `start`: sorted, merged, half-open. */
  readonly ranges: [number, number][];
  filled: number;
}

type State = 'open' | 'committing' | 'committed' | 'failed' | 'aborted';

/** Seconds with millisecond precision, the `mtime` format rclone and s3fs also read. */
export function timeMetadata(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export class S3UploadSink implements WriteSink {
  readonly #o: UploadSinkOptions;
  #state: State = 'open';
  #current = 1;
  readonly #parts = new Map<number, Part>();
  readonly #queue: Part[] = [];
  readonly #inflight = new Set<Promise<void>>();
  readonly #done: CompletedPart[] = [];
  #held = 0;
  #buffered = 0;
  #end = 0;
  #uploadId: Promise<string> | undefined;
  #failure: StorageError | undefined;
  readonly #ac = new AbortController();
  #chain: Promise<void> = Promise.resolve();
  #releaseWaiters: (() => void)[] = [];
  #times: { atimeMs: number; mtimeMs: number };
  #timesSent: { atimeMs: number; mtimeMs: number } | undefined;
  #commit: Promise<void> | undefined;
  #abort: Promise<void> | undefined;
  #abortMultipart: Promise<void> | undefined;

  constructor(options: UploadSinkOptions) {
    this.#o = options;
    const now = Date.now();
    this.#times = { atimeMs: now, mtimeMs: now };
  }

  get bytesReceived(): number {
    return this.#end;
  }

  /** Bytes this upload holds from the pod budget now (buffers allocated, not yet confirmed by S3). */
  get heldBytes(): number {
    return this.#held;
  }

  /**
   * Takes ownership of `data` only for the duration of the call (bytes are copied into the part buffer), so the
   * caller may reuse its packet buffer once the promise resolves.
   */
  write(offset: number, data: Uint8Array): Promise<void> {
    const run = this.#chain.then(() => this.#write(offset, data));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  setTimes(atimeMs: number, mtimeMs: number): void {
    this.#times = { atimeMs, mtimeMs };
  }

  commit(signal?: AbortSignal): Promise<void> {
    this.#commit ??= this.#doCommit(signal);
    return this.#commit;
  }

  abort(reason = 'upload aborted'): Promise<void> {
    this.#abort ??= (async () => {
      if (this.#state === 'committed') return;
      if (this.#state === 'open') this.#state = 'aborted';
      this.#fail(new StorageError(StorageErrorCode.Aborted, `${this.#o.what}: ${reason}`));
      await this.#settle();
      await this.#abortUpload();
    })();
    return this.#abort;
  }

  async #write(offset: number, data: Uint8Array): Promise<void> {
    this.#assertWritable();
    const { what, basePartSize: base } = this.#o;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidWrite(`${what}: invalid offset ${offset}`);
    if (data.length === 0) return;
    const end = offset + data.length;
    if (end > MAX_OBJECT_BYTES) throw invalidWrite(`${what}: write past the 5 TiB S3 object limit`);
    const currentStart = partStart(base, this.#current);
    if (offset < currentStart) {
      throw invalidWrite(
        `${what}: write at offset ${offset} overlaps bytes already sent to S3 (before ${currentStart})`,
      );
    }
    const first = partAt(base, offset);
    const last = partAt(base, end - 1);
    if (last > MAX_PARTS) throw invalidWrite(`${what}: write past what 10,000 multipart parts can hold`);
    if (last > this.#current + REORDER_WINDOW_PARTS) {
      const windowEnd = partStart(base, this.#current + REORDER_WINDOW_PARTS + 1);
      throw invalidWrite(
        `${what}: write at offset ${offset} is beyond the reorder window (bytes ${currentStart}..${windowEnd - 1}); ` +
          'writes must arrive nearly in order',
      );
    }
    // Refuse an overlap before taking any budget, so a refused write changes nothing.
    for (let n = first; n <= last; n++) {
      const part = this.#parts.get(n);
      if (part === undefined) continue;
      const [s, e] = slice(part, offset, end);
      if (overlaps(part.ranges, s, e)) {
        throw invalidWrite(`${what}: write at offset ${offset} overlaps bytes already received`);
      }
    }
    // Part by part: fill (and seal) a part before waiting for the next one's buffer, so an upload never sits on a
    // half-filled part while it waits for budget — with every upload doing that, the pod would deadlock.
    for (let n = first; n <= last; n++) {
      if (!this.#parts.has(n)) {
        try {
          await this.#allocate(n);
        } catch (err) {
          const failure = this.#failure ?? asStorageError(err, what);
          // Part of this write is already in earlier parts: the upload can't continue consistently.
          if (n > first) this.#fail(failure);
          throw failure;
        }
      }
      const part = this.#parts.get(n);
      if (part?.buf === undefined) throw this.#failure ?? invalidWrite(`${what}: upload no longer writable`);
      const [s, e] = slice(part, offset, end);
      part.buf.set(data.subarray(part.start + s - offset, part.start + e - offset), s);
      addRange(part.ranges, s, e);
      part.filled += e - s;
      this.#buffered += e - s;
      this.#o.ctx.metrics.bufferedBytes?.(e - s);
      if (part.start + e > this.#end) this.#end = part.start + e;
      this.#sealFullParts();
    }
  }

  /** Sends every full part at the front (the current part, then the next if it is full already, ...). */
  #sealFullParts(): void {
    for (let p = this.#parts.get(this.#current); p !== undefined && p.filled === p.size; ) {
      this.#parts.delete(p.n);
      this.#enqueue(p);
      this.#current++;
      p = this.#parts.get(this.#current);
    }
  }

  #assertWritable(): void {
    if (this.#failure) throw this.#failure;
    if (this.#state !== 'open') throw invalidWrite(`${this.#o.what}: upload is ${this.#state}`);
  }

  /** Takes a part's size from the per-upload cap and the pod budget (waiting: backpressure), then its buffer. */
  async #allocate(n: number): Promise<void> {
    const { basePartSize: base, perUploadBudgetBytes, ctx, what } = this.#o;
    const size = partSize(base, n);
    // At least the current part plus the reorder window must fit, or an out-of-order write could never complete.
    const cap = Math.max(perUploadBudgetBytes, 3 * partSize(base, Math.min(MAX_PARTS, this.#current + 2)));
    while (this.#held + size > cap) {
      await new Promise<void>((resolve) => this.#releaseWaiters.push(resolve));
      this.#assertWritable();
    }
    if (size > ctx.podBudget.capacity) {
      throw new StorageError(
        StorageErrorCode.Failure,
        `${what}: a ${size}-byte part does not fit the pod's ${ctx.podBudget.capacity}-byte transfer budget`,
      );
    }
    await ctx.podBudget.acquire(size, this.#ac.signal);
    this.#held += size;
    if (this.#failure) {
      this.#giveBack(size);
      throw this.#failure;
    }
    this.#parts.set(n, { n, start: partStart(base, n), size, buf: ctx.pool.take(size), ranges: [], filled: 0 });
  }

  #giveBack(bytes: number): void {
    this.#held -= bytes;
    this.#o.ctx.podBudget.release(bytes);
    const waiters = this.#releaseWaiters;
    this.#releaseWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Drops a part's buffer and returns its budget (confirmed by S3, or discarded on failure/abort). `reusable`: no
   * request can still read the buffer (never sent, or S3 answered) — an aborted request's socket write might, so
   * those buffers are left to the GC instead of the pool, where they would be overwritten.
   */
  #releasePart(part: Part, reusable = true): void {
    if (part.buf === undefined) return;
    if (reusable) this.#o.ctx.pool.give(part.buf);
    part.buf = undefined;
    this.#buffered -= part.filled;
    this.#o.ctx.metrics.bufferedBytes?.(-part.filled);
    this.#giveBack(part.size);
  }

  #enqueue(part: Part): void {
    this.#queue.push(part);
    this.#pump();
  }

  #pump(): void {
    while (this.#inflight.size < this.#o.uploadConcurrency && this.#queue.length > 0) {
      const part = this.#queue.shift() as Part;
      if (this.#failure) {
        this.#releasePart(part);
        continue;
      }
      const p = this.#uploadPart(part).finally(() => {
        this.#inflight.delete(p);
        this.#pump();
      });
      this.#inflight.add(p);
    }
  }

  async #uploadPart(part: Part): Promise<void> {
    const { ctx, key, what } = this.#o;
    try {
      const uploadId = await this.#ensureUpload();
      const body = (part.buf as Buffer).subarray(0, part.filled);
      const started = performance.now();
      const out = await ctx.send(
        'UploadPart',
        what,
        this.#ac.signal,
        (o) =>
          ctx.client.send(
            new UploadPartCommand({
              Bucket: ctx.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: part.n,
              Body: body,
              ContentLength: body.length,
            }),
            o,
          ),
        body.length,
      );
      if (!out.ETag) throw new StorageError(StorageErrorCode.Failure, `${what}: S3 UploadPart returned no ETag`);
      ctx.metrics.partUploaded?.((performance.now() - started) / 1000, body.length);
      const done: CompletedPart = { PartNumber: part.n, ETag: out.ETag };
      if (out.ChecksumCRC32 !== undefined) done.ChecksumCRC32 = out.ChecksumCRC32;
      if (out.ChecksumCRC32C !== undefined) done.ChecksumCRC32C = out.ChecksumCRC32C;
      if (out.ChecksumCRC64NVME !== undefined) done.ChecksumCRC64NVME = out.ChecksumCRC64NVME;
      if (out.ChecksumSHA1 !== undefined) done.ChecksumSHA1 = out.ChecksumSHA1;
      if (out.ChecksumSHA256 !== undefined) done.ChecksumSHA256 = out.ChecksumSHA256;
      this.#done.push(done);
      this.#releasePart(part);
    } catch (err) {
      this.#releasePart(part, false);
      this.#fail(err instanceof StorageError ? err : new StorageError(StorageErrorCode.Failure, `${what}: ${err}`));
    }
  }

  #metadata(): Record<string, string> {
    return {
      ...this.#o.metadata,
      mtime: timeMetadata(this.#times.mtimeMs),
      atime: timeMetadata(this.#times.atimeMs),
    };
  }

  #ensureUpload(): Promise<string> {
    this.#uploadId ??= (async () => {
      const { ctx, key, what } = this.#o;
      this.#timesSent = { ...this.#times };
      const out = await ctx.send('CreateMultipartUpload', what, this.#ac.signal, (o) =>
        ctx.client.send(
          new CreateMultipartUploadCommand({
            Bucket: ctx.bucket,
            Key: key,
            Metadata: this.#metadata(),
            ContentType: 'application/octet-stream',
            ...ctx.writeHeaders,
          }),
          o,
        ),
      );
      if (!out.UploadId) throw new StorageError(StorageErrorCode.Failure, `${what}: S3 returned no upload id`);
      return out.UploadId;
    })();
    return this.#uploadId;
  }

  /** Records the first failure and stops everything in flight; later calls keep the first cause. */
  #fail(err: StorageError): void {
    if (this.#failure) return;
    this.#failure = err;
    if (this.#state === 'open' || this.#state === 'committing') this.#state = 'failed';
    this.#ac.abort(err);
    // Failure path: not worth proving which buffers a request may still read (a failed PutObject sent part 1).
    for (const part of this.#parts.values()) this.#releasePart(part, false);
    this.#parts.clear();
    for (const part of this.#queue.splice(0)) this.#releasePart(part, false);
    const waiters = this.#releaseWaiters;
    this.#releaseWaiters = [];
    for (const w of waiters) w();
    // Don't wait for CLOSE or the session's end to free S3's stored parts: abort as soon as nothing is in flight.
    void this.#settle().then(() => this.#abortUpload());
  }

  /** Resolves when nothing is queued or in flight (parts settle: confirmed, failed or aborted). */
  async #settle(): Promise<void> {
    while (this.#inflight.size > 0 || this.#queue.length > 0) await Promise.allSettled([...this.#inflight]);
  }

  async #doCommit(signal?: AbortSignal): Promise<void> {
    await this.#chain;
    const { ctx, key, what, overwrite } = this.#o;
    const started = performance.now();
    const onAbort = () => this.#fail(new StorageError(StorageErrorCode.Aborted, `${what}: commit aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) onAbort();
      this.#assertWritable();
      this.#state = 'committing';
      this.#checkNoHoles();
      const ifNoneMatch = overwrite ? {} : { IfNoneMatch: '*' };
      if (this.#uploadId === undefined && this.#current === 1) {
        // Ended inside the first part: one PutObject, no multipart upload at all.
        const part = this.#parts.get(1);
        const body = part?.buf?.subarray(0, this.#end) ?? new Uint8Array(0);
        await ctx.send(
          'PutObject',
          what,
          this.#ac.signal,
          (o) =>
            ctx.client.send(
              new PutObjectCommand({
                Bucket: ctx.bucket,
                Key: key,
                Body: body,
                ContentLength: body.length,
                ContentType: 'application/octet-stream',
                Metadata: this.#metadata(),
                ...ctx.writeHeaders,
                ...ifNoneMatch,
              }),
              o,
            ),
          body.length,
        );
        if (part) this.#releasePart(part);
        this.#parts.clear();
      } else {
        for (const n of [...this.#parts.keys()].sort((a, b) => a - b)) {
          const part = this.#parts.get(n) as Part;
          this.#parts.delete(n);
          this.#enqueue(part);
        }
        await this.#settle();
        if (this.#failure) throw this.#failure;
        const uploadId = await (this.#uploadId as Promise<string>);
        const parts = [...this.#done].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
        const out = await ctx.send('CompleteMultipartUpload', what, this.#ac.signal, (o) =>
          ctx.client.send(
            new CompleteMultipartUploadCommand({
              Bucket: ctx.bucket,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
              ...ifNoneMatch,
            }),
            o,
          ),
        );
        // The SDK turns a 200 whose body ends in </Error> into a retried 503; a body it could not recognise (extra
        // bytes after </Error>, an empty result) parses into an output without an ETag — not a confirmation either.
        if (!out.ETag) {
          throw new StorageError(
            StorageErrorCode.Unavailable,
            `${what}: S3 CompleteMultipartUpload answered without confirming the object`,
          );
        }
        this.#state = 'committed';
        const sent = this.#timesSent;
        if (sent && (sent.mtimeMs !== this.#times.mtimeMs || sent.atimeMs !== this.#times.atimeMs)) {
          // The times arrived after CreateMultipartUpload fixed the metadata (e.g. `put -p`): rewrite them.
          await this.#o.replaceTimes(this.#times.atimeMs, this.#times.mtimeMs, signal);
        }
      }
      this.#state = 'committed';
      ctx.metrics.finalizeLag?.((performance.now() - started) / 1000, 'ok');
    } catch (err) {
      ctx.metrics.finalizeLag?.((performance.now() - started) / 1000, 'error');
      const failure =
        this.#failure ??
        (err instanceof StorageError ? err : new StorageError(StorageErrorCode.Failure, `${what}: ${err}`));
      if (this.#state !== 'committed') {
        this.#fail(failure);
        await this.#settle();
        await this.#abortUpload();
      }
      throw failure;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #checkNoHoles(): void {
    const { basePartSize: base, what } = this.#o;
    for (let n = this.#current; partStart(base, n) < this.#end; n++) {
      const start = partStart(base, n);
      const expected = Math.min(partSize(base, n), this.#end - start);
      const part = this.#parts.get(n);
      const first = part?.ranges[0];
      if (part === undefined || first === undefined || first[0] !== 0) throw hole(what, start);
      if (first[1] !== expected) throw hole(what, start + first[1]);
    }
  }

  /** Aborts the multipart upload if one was created. Idempotent; never throws (lifecycle rules are the backstop). */
  #abortUpload(): Promise<void> {
    this.#abortMultipart ??= (async () => {
      const pending = this.#uploadId;
      if (pending === undefined) return;
      let uploadId: string;
      try {
        uploadId = await pending;
      } catch {
        return; // never created (or we never learned its id: the bucket's lifecycle rule removes it)
      }
      const { ctx, key, what } = this.#o;
      try {
        await ctx.send('AbortMultipartUpload', what, AbortSignal.timeout(60_000), (o) =>
          ctx.client.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: key, UploadId: uploadId }), o),
        );
      } catch {
        // Counted in s3Request metrics; the AbortIncompleteMultipartUpload lifecycle rule cleans up.
      }
    })();
    return this.#abortMultipart;
  }
}

function asStorageError(err: unknown, what: string): StorageError {
  return err instanceof StorageError
    ? err
    : new StorageError(StorageErrorCode.Failure, `${what}: ${err}`, { cause: err });
}

function invalidWrite(message: string): StorageError {
  return new StorageError(StorageErrorCode.InvalidWrite, message);
}

function hole(what: string, offset: number): StorageError {
  return invalidWrite(`${what}: no data was written at offset ${offset} (a hole); the file was not stored`);
}

/** The part-relative range of [offset, end) inside a part. */
function slice(part: Part, offset: number, end: number): [number, number] {
  return [Math.max(offset, part.start) - part.start, Math.min(end, part.start + part.size) - part.start];
}

function overlaps(ranges: readonly [number, number][], s: number, e: number): boolean {
  return ranges.some(([rs, re]) => s < re && rs < e);
}

function addRange(ranges: [number, number][], s: number, e: number): void {
  ranges.push([s, e]);
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < ranges.length - 1; ) {
    const a = ranges[i] as [number, number];
    const b = ranges[i + 1] as [number, number];
    if (a[1] === b[0]) {
      a[1] = b[1];
      ranges.splice(i + 1, 1);
    } else i++;
  }
}
