// One upload on S3: the multipart driver around the pure PartAssembler (part-assembler.ts). SFTP WRITEs become S3
// multipart parts, or a single PutObject when the file ends inside its first part.
//
// Memory: a part is reserved whole from the upload's own cap and the session's and user's shares when its first byte
// arrives (so write() waits — backpressure — when a share is full); the pod's memory is granted in slabs as bytes
// arrive (growth-gate.ts), taken before the slab is. At seal the slabs become one body of the part's size, held until
// S3 confirms the part. Reserved bytes per upload stay <= max(perUploadBudgetBytes, 3 parts): the current part, up to
// two parts ahead (the reorder window) and the parts queued or in flight.

import type { CompletedPart } from '../../../common/src/s3/types.ts';
import { trackCommit } from './commit-tracker.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import { IdleTimer } from './idle-timer.ts';
import { timeMetadata } from './object-metadata.ts';
import { PartAssembler, REORDER_WINDOW_PARTS, type SealedPart, type Slice } from './part-assembler.ts';
import { MAX_PARTS } from './part-size.ts';
import type { ResumeHooks } from './resume-hooks.ts';
import type { S3Context } from './s3-context.ts';
import { putTags, uploadTags } from './s3-digests.ts';
import { abortUpload, completeUpload, createUpload, type ObjectTarget, putObject, uploadPart } from './s3-multipart.ts';
import type { UploadDigests, WriteSink } from './types.ts';
import { digestMetadata, UploadHasher } from './upload-hash.ts';
import { type UploadBudget, UploadMemory } from './upload-memory.ts';

export { REORDER_WINDOW_PARTS };

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
  /** Budget the part buffers come from. */
  readonly budget: UploadBudget;
  /** Pod memory is granted in slabs of this size (256 KiB by default). */
  readonly slabBytes?: number;
  /** Called once when the sink has settled (committed, failed or aborted) and holds no budget. */
  readonly onSettled?: () => void;
  /** An upload that receives no write for this long while holding budget is failed and releases it (0: never). */
  readonly idleReleaseMs?: number;
  /** Also compute MD5 (SHA-256 is always computed); --upload-md5. */
  readonly md5?: boolean;
  /** Tag a multipart upload's digests and final times after Complete (s3-digests.ts); default true. */
  readonly tagDigests?: boolean;
  /** Resumable uploads (resume-hooks.ts): continue an interrupted upload, save state at suspend(). */
  readonly resume?: ResumeHooks;
}

type State = 'open' | 'committing' | 'committed' | 'failed' | 'aborted';

export class S3UploadSink implements WriteSink {
  readonly #o: UploadSinkOptions;
  readonly #asm: PartAssembler;
  readonly #target: ObjectTarget;
  #state: State = 'open';
  readonly #queue: SealedPart[] = [];
  readonly #inflight = new Set<Promise<void>>();
  readonly #done: CompletedPart[] = [];
  readonly #mem: UploadMemory;
  #uploadId: Promise<string> | undefined;
  #failure: StorageError | undefined;
  readonly #ac = new AbortController();
  #chain: Promise<void> = Promise.resolve();
  #times: { atimeMs: number; mtimeMs: number };
  #commit: Promise<void> | undefined;
  #abort: Promise<void> | undefined;
  #abortMultipart: Promise<void> | undefined;
  readonly #idle: IdleTimer;
  /** The final request (PutObject / Complete) was sent: S3 may act on it, so nothing cancels it any more. */
  #finalSent = false;
  #settledReported = false;
  /** Hashes every sealed part before it is sent: parts are sealed in order, so this is the file's hash. */
  readonly #hasher: UploadHasher;
  #digests: UploadDigests | undefined;
  /** Resume checkpoints (resume-hooks.ts): a state object exists for this upload; one save in flight; when last. */
  #stateSaved = false;
  #checkpoint: Promise<void> | undefined;
  #lastCheckpointMs = Date.now();

  constructor(options: UploadSinkOptions) {
    this.#o = options;
    const pool = options.ctx.pool;
    const slabBytes = options.slabBytes ?? 256 * 1024;
    this.#asm = new PartAssembler({
      basePartSize: options.basePartSize,
      what: options.what,
      slabs: { slabBytes, take: () => pool.take(slabBytes), give: (b) => pool.give(b) },
      ...(options.resume?.from ? { startPart: options.resume.from.parts.length + 1 } : {}),
    });
    this.#mem = new UploadMemory(options.budget, () => this.#maybeSettled());
    this.#target = { ctx: options.ctx, key: options.key, what: options.what };
    this.#hasher = new UploadHasher(options.md5 ?? false);
    this.#idle = new IdleTimer(options.idleReleaseMs ?? 0, () => this.#idleRelease());
    const now = Date.now();
    this.#times = { atimeMs: now, mtimeMs: now };
    const from = options.resume?.from;
    if (from) {
      this.#stateSaved = true;
      // The interrupted session created the upload; its confirmed parts are ours now (times go in the tags).
      this.#uploadId = Promise.resolve(from.uploadId);
      for (const p of from.parts) this.#done.push({ PartNumber: p.n, ETag: p.etag });
    }
  }

  /** The stored bytes' hashes, once commit() resolved. */
  get digests(): UploadDigests | undefined {
    return this.#digests;
  }

  get bytesReceived(): number {
    return this.#asm.end;
  }

  /** Bytes this upload holds from the budget now (buffers allocated, not yet confirmed by S3). */
  get heldBytes(): number {
    return this.#mem.reserved;
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

  /**
   * The session ended without CLOSE (connection lost, client killed, pod shutdown): keeps the multipart upload and
   * saves its state so any pod can resume it (resume-hooks.ts); without resume hooks, parts or a saved state it is
   * abort(). Parts in flight finish (their requests are not cancelled); open and queued parts are dropped.
   */
  suspend(reason = 'session ended'): Promise<void> {
    const save = this.#o.resume?.save;
    if (save === undefined || this.#state !== 'open' || this.#failure || this.#uploadId === undefined) {
      return this.abort(reason);
    }
    this.#abort ??= (async () => {
      this.#state = 'aborted';
      this.#failure = new StorageError(StorageErrorCode.Aborted, `${this.#o.what}: ${reason}`);
      this.#idle.stop();
      const drained = this.#asm.drain();
      for (const part of drained) this.#o.ctx.metrics.bufferedBytes?.(-part.filled);
      this.#mem.releaseDrained(drained);
      for (const part of this.#queue.splice(0)) this.#releasePart(part);
      await this.#settle();
      await this.#checkpoint; // an older checkpoint must not land after the final state
      const uploadId = await (this.#uploadId as Promise<string>).catch(() => undefined);
      const done = this.#confirmedParts();
      const saved =
        uploadId !== undefined &&
        (await save(uploadId, done).then(
          (ok) => ok,
          () => false,
        ));
      if (!saved) await this.#abortUpload();
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
          await this.#mem.grant(slice.n, need, this.#ac.signal);
        } catch (err) {
          const failure = this.#failure ?? asStorageError(err, this.#o.what);
          this.#fail(failure); // an open part that cannot grow: the upload cannot continue
          throw failure;
        }
        if (this.#failure) {
          this.#mem.releaseGranted(need);
          throw this.#failure;
        }
      }
      const sealed = this.#asm.put(slice, data);
      this.#o.ctx.metrics.bufferedBytes?.(slice.to - slice.from);
      for (const part of sealed) this.#enqueue(this.#mem.sealed(part));
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
    await this.#mem.waitForCap(size, cap, () => this.#assertWritable());
    if (size > this.#mem.capacity) {
      throw new StorageError(
        StorageErrorCode.Failure,
        `${what}: a ${size}-byte part does not fit the ${this.#mem.capacity}-byte transfer budget`,
      );
    }
    await this.#mem.reserve(n, size, this.#ac.signal);
    if (this.#failure) {
      this.#mem.releaseDrained([]);
      this.#mem.releaseReserved(size);
      throw this.#failure;
    }
    this.#asm.open(n);
  }

  /**
   * Returns a sealed part's memory and reservation (confirmed by S3, or discarded on failure/abort). `reusable`: no
   * request can still read the buffer (never sent, or S3 answered) — an aborted request's socket write might, so
   * those buffers are left to the GC instead of the pool, where they would be overwritten.
   */
  #releasePart(part: SealedPart, reusable = true): void {
    if (reusable) for (const slab of part.slabs) this.#o.ctx.pool.give(slab);
    this.#o.ctx.metrics.bufferedBytes?.(-part.bytes);
    this.#mem.releaseSealed(part);
  }

  #enqueue(part: SealedPart): void {
    if (!this.#o.resume?.from) for (const b of part.body) this.#hasher.update(b);
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
      this.#maybeCheckpoint(uploadId);
    } catch (err) {
      this.#releasePart(part, false);
      this.#fail(asStorageError(err, this.#o.what));
    }
  }

  /** Saves the confirmed parts' state now and then (--resume-checkpoint), in the background; never fails the upload. */
  #maybeCheckpoint(uploadId: string): void {
    const { save, checkpointMs } = this.#o.resume ?? {};
    if (!save || !checkpointMs || this.#checkpoint || this.#state !== 'open' || this.#failure) return;
    if (Date.now() - this.#lastCheckpointMs < checkpointMs) return;
    this.#lastCheckpointMs = Date.now();
    this.#checkpoint = save(uploadId, this.#confirmedParts())
      .then(
        (ok) => {
          if (ok) this.#stateSaved = true;
        },
        () => undefined,
      )
      .finally(() => {
        this.#checkpoint = undefined;
      });
  }

  #confirmedParts(): { n: number; etag: string; size: number }[] {
    return this.#done.map((p) => ({
      n: p.PartNumber ?? 0,
      etag: p.ETag ?? '',
      size: this.#asm.partSize(p.PartNumber ?? 1),
    }));
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
      const id = await createUpload(this.#target, this.#metadata(), this.#ac.signal);
      this.#o.resume?.started?.(id); // a fresh multipart upload supersedes an interrupted one of the same path
      return id;
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
    const drained = this.#asm.drain();
    for (const part of drained) this.#o.ctx.metrics.bufferedBytes?.(-part.filled);
    this.#mem.releaseDrained(drained);
    for (const part of this.#queue.splice(0)) this.#releasePart(part);
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
      const rest = this.#asm.finish().map((p) => this.#mem.sealed(p)); // throws at a hole
      if (!multipart) {
        // Ended inside the first part: one PutObject, no multipart upload at all.
        const part = rest[0];
        const body = part?.body ?? [];
        for (const b of body) this.#hasher.update(b);
        const digests = this.#hasher.digests();
        try {
          // Known before the request: the hashes ride in its metadata, no extra request and no extra permission.
          const metadata = { ...this.#metadata(), ...digestMetadata(digests) };
          await this.#final(putObject(this.#target, body, metadata, overwrite, this.#finalSignal()));
        } catch (err) {
          // Failure path: a cancelled request's socket write might still read the buffer, so it is not pooled.
          if (part) this.#releasePart(part, false);
          throw err;
        }
        if (part) this.#releasePart(part);
        this.#digests = digests;
      } else {
        for (const part of rest) this.#enqueue(part);
        await this.#settle();
        if (this.#failure) throw this.#failure;
        const uploadId = await (this.#uploadId as Promise<string>);
        await this.#final(completeUpload(this.#target, uploadId, this.#done, overwrite, this.#finalSignal()));
        this.#state = 'committed';
        // A resumed upload's streaming hash began mid-file (the interrupted session's could not travel): re-read it.
        const rehash = this.#o.resume?.from ? this.#o.resume.rehash : undefined;
        this.#digests = rehash ? await rehash(this.#asm.end, signal).catch(() => undefined) : this.#hasher.digests();
        await this.#checkpoint;
        await this.#o.resume?.committed?.(this.#stateSaved);
        // Known only now: the hashes, and times set after CreateMultipartUpload fixed the metadata (`put -p`). One
        // PutObjectTagging carries both (s3-digests.ts) — never a self-copy of the object. The object is stored
        // whatever it answers (the client is told OK); without the tags a checksum request is refused clearly and
        // STAT shows the upload's start time. A failure is counted in
        // sftpgate_s3_requests_total{operation="PutObjectTagging",result="error"}.
        if (this.#o.tagDigests !== false) {
          const tags = uploadTags(this.#digests, this.#times);
          await putTags(ctx, this.#o.key, what, tags, signal).catch(() => undefined);
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
    if (this.#mem.reserved === 0 || this.#state !== 'open') return;
    const s = Number(((this.#o.idleReleaseMs ?? 0) / 1000).toFixed(1));
    this.#fail(
      new StorageError(
        StorageErrorCode.Idle,
        `${this.#o.what}: no data for ${s} s while holding upload memory; the upload was released and nothing was stored`,
      ),
    );
  }

  #maybeSettled(): void {
    if (this.#settledReported || this.#mem.reserved !== 0 || this.#mem.granted !== 0) return;
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
      await this.#checkpoint;
      if (this.#stateSaved) await this.#o.resume?.dropped?.(); // the state would name an upload that is gone
    })();
    return this.#abortMultipart;
  }
}

function asStorageError(err: unknown, what: string): StorageError {
  return err instanceof StorageError
    ? err
    : new StorageError(StorageErrorCode.Failure, `${what}: ${err}`, { cause: err });
}
