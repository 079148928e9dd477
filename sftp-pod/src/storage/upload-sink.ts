// One upload on S3: the multipart driver around the pure PartAssembler (part-assembler.ts). SFTP WRITEs become S3
// multipart parts, or a single PutObject when the file ends inside its first part.
//
// Memory: a part is reserved whole from the upload's own cap and the session's and user's shares when its first byte
// arrives (so write() waits — backpressure — when a share is full); the pod's memory is granted in slabs as bytes
// arrive (growth-gate.ts), taken before the slab is. At seal the slabs become one body of the part's size, held until
// S3 confirms the part. Reserved bytes per upload stay <= max(perUploadBudgetBytes, 3 parts): the current part, up to
// two parts ahead (the reorder window) and the parts queued or in flight.

import type { CompletedPart } from '@aws-sdk/client-s3';
import { trackCommit } from './commit-tracker.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import { IdleTimer } from './idle-timer.ts';
import { timeMetadata } from './object-metadata.ts';
import { PartAssembler, REORDER_WINDOW_PARTS, type SealedPart, type Slice } from './part-assembler.ts';
import { MAX_PARTS } from './part-size.ts';
import type { S3Context } from './s3-context.ts';
import { abortUpload, completeUpload, createUpload, type ObjectTarget, putObject, uploadPart } from './s3-multipart.ts';
import type { WriteSink } from './types.ts';

export { REORDER_WINDOW_PARTS };

/** Where an upload's part buffers are accounted (fair-budget.ts BudgetLease). */
export interface UploadBudget {
  /** The largest part that can ever be buffered (the pod budget). */
  readonly capacity: number;
  /** Reserves a whole part from the session's and user's shares (waits; BUSY past the deadline). */
  reservePart(size: number, signal?: AbortSignal): Promise<void>;
  releasePart(size: number): void;
  /** Registers a part being filled (its age decides who may use the pod's reserve), and unregisters it. */
  openPart(token: object, size: number): void;
  closePart(token: object): void;
  /** n bytes of the pod's memory for an open part (waits; BUSY past the deadline). */
  grant(token: object, n: number, signal?: AbortSignal): Promise<void>;
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
  /** Budget the part buffers come from. */
  readonly budget: UploadBudget;
  /** Pod memory is granted in slabs of this size (256 KiB by default). */
  readonly slabBytes?: number;
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
  /** Bytes reserved (whole parts) from the upload cap and the shares. */
  #held = 0;
  /** Pod memory granted: slabs of open parts, bodies of sealed parts not yet confirmed. */
  #granted = 0;
  /** Open parts' tokens for the growth gate. */
  readonly #tokens = new Map<number, object>();
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
  readonly #idle: IdleTimer;
  /** The final request (PutObject / Complete) was sent: S3 may act on it, so nothing cancels it any more. */
  #finalSent = false;
  #settledReported = false;

  constructor(options: UploadSinkOptions) {
    this.#o = options;
    const pool = options.ctx.pool;
    const slabBytes = options.slabBytes ?? 256 * 1024;
    this.#asm = new PartAssembler({
      basePartSize: options.basePartSize,
      what: options.what,
      slabs: { slabBytes, take: () => pool.take(slabBytes), takeBody: (n) => pool.take(n), give: (b) => pool.give(b) },
    });
    this.#budget = options.budget;
    this.#target = { ctx: options.ctx, key: options.key, what: options.what };
    this.#idle = new IdleTimer(options.idleReleaseMs ?? 0, () => this.#idleRelease());
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
    this.#idle.stop();
    try {
      await this.#put(slices, data);
    } finally {
      if (this.#state === 'open') this.#idle.arm();
    }
  }

  async #put(slices: readonly Slice[], data: Uint8Array): Promise<void> {
    // Part by part: fill (and seal) a part before reserving the next one, so an upload never sits on a half-filled
    // part while it waits for a share. Pod memory for the part in hand is granted oldest part first (growth-gate.ts).
    for (const [i, slice] of slices.entries()) {
      if (!this.#asm.has(slice.n)) {
        try {
          await this.#reserve(slice.n);
        } catch (err) {
          const failure = this.#failure ?? asStorageError(err, this.#o.what);
          // Part of this write is already in earlier parts: the upload can't continue consistently.
          if (i > 0) this.#fail(failure);
          throw failure;
        }
      }
      const need = this.#asm.missingSlabs(slice) * (this.#o.slabBytes ?? 256 * 1024);
      if (need > 0) {
        try {
          await this.#budget.grant(this.#tokens.get(slice.n) as object, need, this.#ac.signal);
        } catch (err) {
          const failure = this.#failure ?? asStorageError(err, this.#o.what);
          this.#fail(failure); // an open part that cannot grow: the upload cannot continue
          throw failure;
        }
        this.#granted += need;
        if (this.#failure) {
          this.#giveBackGranted(need);
          throw this.#failure;
        }
      }
      const sealed = this.#asm.put(slice, data);
      this.#o.ctx.metrics.bufferedBytes?.(slice.to - slice.from);
      for (const part of sealed) this.#enqueue(this.#sealed(part));
    }
  }

  #assertWritable(): void {
    if (this.#failure) throw this.#failure;
    if (this.#state !== 'open') {
      throw new StorageError(StorageErrorCode.InvalidWrite, `${this.#o.what}: upload is ${this.#state}`);
    }
  }

  /** Reserves part n within the per-upload cap and the shares (waiting: backpressure), then opens it. */
  async #reserve(n: number): Promise<void> {
    const { perUploadBudgetBytes, what } = this.#o;
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
    await this.#budget.reservePart(size, this.#ac.signal);
    this.#held += size;
    if (this.#failure) {
      this.#giveBackReserved(size);
      throw this.#failure;
    }
    const token = {};
    this.#tokens.set(n, token);
    this.#budget.openPart(token, size);
    this.#asm.open(n);
  }

  /** A part stops growing: its slabs became one body (the difference goes back to the pod). */
  #sealed(part: SealedPart): SealedPart {
    this.#closeToken(part.n);
    this.#giveBackGranted(part.slabBytes - part.buf.length);
    return part;
  }

  #closeToken(n: number): void {
    const token = this.#tokens.get(n);
    if (token === undefined) return;
    this.#tokens.delete(n);
    this.#budget.closePart(token);
  }

  #giveBackGranted(bytes: number): void {
    if (bytes <= 0) return;
    this.#granted -= bytes;
    this.#budget.release(bytes);
    this.#maybeSettled();
  }

  #giveBackReserved(bytes: number): void {
    this.#held -= bytes;
    this.#budget.releasePart(bytes);
    const waiters = this.#releaseWaiters;
    this.#releaseWaiters = [];
    for (const w of waiters) w();
    this.#maybeSettled();
  }

  /**
   * Returns a sealed part's memory and reservation (confirmed by S3, or discarded on failure/abort). `reusable`: no
   * request can still read the buffer (never sent, or S3 answered) — an aborted request's socket write might, so
   * those buffers are left to the GC instead of the pool, where they would be overwritten.
   */
  #releasePart(part: SealedPart, reusable = true): void {
    if (reusable) this.#o.ctx.pool.give(part.buf);
    this.#o.ctx.metrics.bufferedBytes?.(-part.body.length);
    this.#giveBackGranted(part.buf.length);
    this.#giveBackReserved(part.size);
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
    this.#idle.stop();
    if (this.#state === 'open' || this.#state === 'committing') this.#state = 'failed';
    this.#ac.abort(err);
    // Open parts were never sent: their slabs go back to the pool (drain does it). Queued ones neither.
    for (const part of this.#asm.drain()) {
      this.#closeToken(part.n);
      this.#o.ctx.metrics.bufferedBytes?.(-part.filled);
      this.#giveBackGranted(part.slabBytes);
      this.#giveBackReserved(part.size);
    }
    for (const n of [...this.#tokens.keys()]) this.#closeToken(n); // reserved, never opened in the assembler
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
    this.#idle.stop();
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
      const rest = this.#asm.finish().map((p) => this.#sealed(p)); // throws at a hole
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

  /** An upload that stops writing must not sit on budget other uploads wait for. */
  #idleRelease(): void {
    if (this.#held === 0 || this.#state !== 'open') return;
    const s = Number(((this.#o.idleReleaseMs ?? 0) / 1000).toFixed(1));
    this.#fail(
      new StorageError(
        StorageErrorCode.Idle,
        `${this.#o.what}: no data for ${s} s while holding upload memory; the upload was released and nothing was stored`,
      ),
    );
  }

  #maybeSettled(): void {
    if (this.#settledReported || this.#held !== 0 || this.#granted !== 0) return;
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
