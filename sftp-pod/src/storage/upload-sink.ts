// One upload on S3: the multipart driver around the pure PartAssembler (part-assembler.ts). SFTP WRITEs become S3
// multipart parts, or a single PutObject when the file ends inside its first part.
//
// Memory: each part is one buffer of its size, taken from the pool when the first byte for it arrives, and its size
// is taken from the budget before that (so write() waits — backpressure — when the budget is full). It is given back
// when S3 confirms the part. Held bytes per upload stay <= max(perUploadBudgetBytes, 3 parts): the current part, up to
// two parts ahead (the reorder window) and the parts queued or in flight.

import type { CompletedPart } from '@aws-sdk/client-s3';
import { trackCommit } from './commit-tracker.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import { timeMetadata } from './object-metadata.ts';
import { PartAssembler, REORDER_WINDOW_PARTS, type SealedPart, type Slice } from './part-assembler.ts';
import { MAX_PARTS } from './part-size.ts';
import type { S3Context } from './s3-context.ts';
import { abortUpload, completeUpload, createUpload, type ObjectTarget, putObject, uploadPart } from './s3-multipart.ts';
import type { WriteSink } from './types.ts';

export { REORDER_WINDOW_PARTS };

/** Where an upload's part buffers are accounted: the pod budget, or a fair share of it (fair-budget.ts). */
export interface UploadBudget {
  /** The most this budget can ever grant at once (a part larger than this can never be buffered). */
  readonly capacity: number;
  acquire(n: number, signal?: AbortSignal): Promise<void>;
  release(n: number): void;
}

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
  /** Budget the part buffers come from; default the pod budget (`ctx.podBudget`). */
  readonly budget?: UploadBudget;
  /** Called once when the sink has settled (committed, failed or aborted) and holds no budget. */
  readonly onSettled?: () => void;
  /** An upload that receives no write for this long while holding budget is failed and releases it (0: never). */
  readonly idleReleaseMs?: number;
}

type State = 'open' | 'committing' | 'committed' | 'failed' | 'aborted';

export class S3UploadSink implements WriteSink {
  readonly #o: UploadSinkOptions;
  readonly #asm: PartAssembler;
  readonly #budget: UploadBudget;
  readonly #target: ObjectTarget;
  #state: State = 'open';
  readonly #queue: SealedPart[] = [];
  readonly #inflight = new Set<Promise<void>>();
  readonly #done: CompletedPart[] = [];
  #held = 0;
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
  #idleTimer: NodeJS.Timeout | undefined;
  /** The final request (PutObject / Complete) was sent: S3 may act on it, so nothing cancels it any more. */
  #finalSent = false;
  #settledReported = false;

  constructor(options: UploadSinkOptions) {
    this.#o = options;
    this.#asm = new PartAssembler({ basePartSize: options.basePartSize, what: options.what });
    this.#budget = options.budget ?? options.ctx.podBudget;
    this.#target = { ctx: options.ctx, key: options.key, what: options.what };
    const now = Date.now();
    this.#times = { atimeMs: now, mtimeMs: now };
  }

  get bytesReceived(): number {
    return this.#asm.end;
  }

  /** Bytes this upload holds from the budget now (buffers allocated, not yet confirmed by S3). */
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
      // A final request in flight is not cancelled (S3 may complete it anyway): its answer decides.
      if (this.#finalSent) await this.#commit?.catch(() => undefined);
      if (this.#state === 'committed') return;
      if (this.#state === 'open') this.#state = 'aborted';
      this.#fail(new StorageError(StorageErrorCode.Aborted, `${this.#o.what}: ${reason}`));
      await this.#settle();
      await this.#abortUpload();
      this.#maybeSettled();
    })();
    return this.#abort;
  }

  async #write(offset: number, data: Uint8Array): Promise<void> {
    this.#assertWritable();
    const slices = this.#asm.plan(offset, data.length); // refuses a bad write before any budget is taken
    // Not idle while a write waits for budget: that wait has its own deadline (the budget's BUSY).
    this.#stopIdleTimer();
    try {
      await this.#put(slices, data);
    } finally {
      this.#touch();
    }
  }

  async #put(slices: readonly Slice[], data: Uint8Array): Promise<void> {
    // Part by part: fill (and seal) a part before waiting for the next one's buffer, so an upload never sits on a
    // half-filled part while it waits for budget — with every upload doing that, the pod would deadlock.
    for (const [i, slice] of slices.entries()) {
      if (!this.#asm.has(slice.n)) {
        try {
          await this.#allocate(slice.n);
        } catch (err) {
          const failure = this.#failure ?? asStorageError(err, this.#o.what);
          // Part of this write is already in earlier parts: the upload can't continue consistently.
          if (i > 0) this.#fail(failure);
          throw failure;
        }
      }
      const sealed = this.#asm.put(slice, data);
      const len = slice.to - slice.from;
      this.#o.ctx.metrics.bufferedBytes?.(len);
      for (const part of sealed) this.#enqueue(part);
    }
  }

  #assertWritable(): void {
    if (this.#failure) throw this.#failure;
    if (this.#state !== 'open') {
      throw new StorageError(StorageErrorCode.InvalidWrite, `${this.#o.what}: upload is ${this.#state}`);
    }
  }

  /** Takes a part's size from the per-upload cap and the budget (waiting: backpressure), then its buffer. */
  async #allocate(n: number): Promise<void> {
    const { perUploadBudgetBytes, ctx, what } = this.#o;
    const size = this.#asm.partSize(n);
    // At least the current part plus the reorder window must fit, or an out-of-order write could never complete.
    const windowEnd = Math.min(MAX_PARTS, this.#asm.current + REORDER_WINDOW_PARTS);
    const cap = Math.max(perUploadBudgetBytes, (REORDER_WINDOW_PARTS + 1) * this.#asm.partSize(windowEnd));
    while (this.#held + size > cap) {
      await new Promise<void>((resolve) => this.#releaseWaiters.push(resolve));
      this.#assertWritable();
    }
    if (size > this.#budget.capacity) {
      throw new StorageError(
        StorageErrorCode.Failure,
        `${what}: a ${size}-byte part does not fit the ${this.#budget.capacity}-byte transfer budget`,
      );
    }
    await this.#budget.acquire(size, this.#ac.signal);
    this.#held += size;
    if (this.#failure) {
      this.#giveBack(size);
      throw this.#failure;
    }
    this.#asm.open(n, ctx.pool.take(size));
  }

  #giveBack(bytes: number): void {
    this.#held -= bytes;
    this.#budget.release(bytes);
    const waiters = this.#releaseWaiters;
    this.#releaseWaiters = [];
    for (const w of waiters) w();
    this.#maybeSettled();
  }

  /**
   * Returns a part's budget (confirmed by S3, or discarded on failure/abort). `reusable`: no request can still read
   * the buffer (never sent, or S3 answered) — an aborted request's socket write might, so those buffers are left to
   * the GC instead of the pool, where they would be overwritten.
   */
  #releasePart(part: SealedPart, reusable = true): void {
    if (reusable) this.#o.ctx.pool.give(part.buf);
    this.#o.ctx.metrics.bufferedBytes?.(-part.body.length);
    this.#giveBack(part.size);
  }

  #enqueue(part: SealedPart): void {
    this.#queue.push(part);
    this.#pump();
  }

  #pump(): void {
    while (this.#inflight.size < this.#o.uploadConcurrency && this.#queue.length > 0) {
      const part = this.#queue.shift() as SealedPart;
      if (this.#failure) {
        this.#releasePart(part);
        continue;
      }
      const p = this.#uploadPart(part).finally(() => {
        this.#inflight.delete(p);
        this.#pump();
        this.#maybeSettled(); // a failed upload settles when its last part in flight does
      });
      this.#inflight.add(p);
    }
  }

  async #uploadPart(part: SealedPart): Promise<void> {
    try {
      const uploadId = await this.#ensureUpload();
      this.#done.push(await uploadPart(this.#target, uploadId, part.n, part.body, this.#ac.signal));
      this.#releasePart(part);
    } catch (err) {
      this.#releasePart(part, false);
      this.#fail(asStorageError(err, this.#o.what));
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
      this.#timesSent = { ...this.#times };
      return createUpload(this.#target, this.#metadata(), this.#ac.signal);
    })();
    return this.#uploadId;
  }

  /** Records the first failure and stops everything in flight; later calls keep the first cause. */
  #fail(err: StorageError): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#stopIdleTimer();
    if (this.#state === 'open' || this.#state === 'committing') this.#state = 'failed';
    this.#ac.abort(err);
    // Open parts were never sent: their buffers go back to the pool. Queued ones neither.
    for (const part of this.#asm.drain()) this.#releasePart(part);
    for (const part of this.#queue.splice(0)) this.#releasePart(part);
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
    this.#stopIdleTimer();
    const { ctx, what, overwrite } = this.#o;
    const started = performance.now();
    // Before the final request an abort fails the upload (nothing stored); after it, S3's answer decides.
    const onAbort = () => {
      if (!this.#finalSent) this.#fail(new StorageError(StorageErrorCode.Aborted, `${what}: commit aborted`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) onAbort();
      this.#assertWritable();
      this.#state = 'committing';
      const multipart = this.#uploadId !== undefined || this.#asm.current > 1;
      const rest = this.#asm.finish(); // throws at a hole
      if (!multipart) {
        // Ended inside the first part: one PutObject, no multipart upload at all.
        const part = rest[0];
        const body = part?.body ?? new Uint8Array(0);
        try {
          await this.#final(putObject(this.#target, body, this.#metadata(), overwrite, this.#finalSignal()));
        } catch (err) {
          // Failure path: a cancelled request's socket write might still read the buffer, so it is not pooled.
          if (part) this.#releasePart(part, false);
          throw err;
        }
        if (part) this.#releasePart(part);
      } else {
        for (const part of rest) this.#enqueue(part);
        await this.#settle();
        if (this.#failure) throw this.#failure;
        const uploadId = await (this.#uploadId as Promise<string>);
        await this.#final(completeUpload(this.#target, uploadId, this.#done, overwrite, this.#finalSignal()));
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
      this.#maybeSettled();
    }
  }

  /**
   * Sends the final request. From here on neither the caller's signal nor abort() cancels it: a cancelled
   * CompleteMultipartUpload may still complete in S3, and the client would be told "failed" about a stored file. The
   * request still ends by its own deadline (S3Context.send), and shutdown waits for it (commit-tracker.ts).
   */
  #final<T>(request: Promise<T>): Promise<T> {
    trackCommit(this.#o.ctx.podBudget, request);
    return request;
  }

  /** The signal for the final request: only a failure recorded before it was sent cancels it. */
  #finalSignal(): AbortSignal {
    if (this.#failure) return this.#ac.signal;
    this.#finalSent = true;
    return new AbortController().signal;
  }

  /** (Re)arms the idle release: an upload that stops writing must not sit on budget other uploads wait for. */
  #touch(): void {
    const ms = this.#o.idleReleaseMs ?? 0;
    if (ms <= 0 || this.#state !== 'open') return;
    this.#stopIdleTimer();
    this.#idleTimer = setTimeout(() => {
      if (this.#held === 0 || this.#state !== 'open') return;
      this.#fail(
        new StorageError(
          StorageErrorCode.Idle,
          `${this.#o.what}: no data for ${Number((ms / 1000).toFixed(1))} s while holding upload memory; the upload was ` +
            'released and nothing was stored',
        ),
      );
    }, ms);
    this.#idleTimer.unref();
  }

  #stopIdleTimer(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #maybeSettled(): void {
    if (this.#settledReported || this.#held !== 0) return;
    if (this.#state === 'open' || this.#state === 'committing') return;
    if (this.#inflight.size > 0 || this.#queue.length > 0) return;
    this.#settledReported = true;
    this.#o.onSettled?.();
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
      await abortUpload(this.#target, uploadId);
    })();
    return this.#abortMultipart;
  }
}

function asStorageError(err: unknown, what: string): StorageError {
  return err instanceof StorageError
    ? err
    : new StorageError(StorageErrorCode.Failure, `${what}: ${err}`, { cause: err });
}
