// One download: ranged GETs. A read that continues where the previous one ended is "sequential" and triggers
// read-ahead: up to `concurrency` chunks beyond it are fetched in parallel, each only if its bytes can be taken from
// the pod budget without waiting (read-ahead is an optimisation; it never blocks or deadlocks a transfer). Any other
// read is served by one exact ranged GET. Every GET carries If-Match with the ETag seen at open, so an object
// replaced mid-download fails the read instead of splicing two versions together.
//
// Read-ahead range buffers are reused within a download: a fresh 4 MiB buffer per chunk meant page faults on first
// touch and external memory that drove most of the download's garbage collections (docs/benchmarks.md, "S3 download
// path, session 19"). A buffer goes back to the source's small free list only when its chunk was evicted, its GET
// settled (nothing writes into it any more) and every view handed out of it was released by the caller
// (`release`, which the SFTP READ handler calls once ssh2 copied the reply); a view never released keeps its buffer
// out of reuse, so forgetting `release` costs memory, never correctness.

import { ArrivingBytes } from './byte-chunks.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import type { ReadAheadBudget } from './fair-budget.ts';
import type { S3Context } from './s3-context.ts';
import type { ReadSource } from './types.ts';

export interface ReadSourceOptions {
  readonly ctx: S3Context;
  readonly key: string;
  readonly what: string;
  readonly size: number;
  readonly etag: string | undefined;
  readonly chunkBytes: number;
  readonly concurrency: number;
  /** Where read-ahead chunks are accounted; default the pod budget. */
  readonly budget?: ReadAheadBudget;
}

/** Reused range buffers kept per download beyond those in use (counted in the read-ahead budget, dropped at close). */
const MAX_FREE_BUFFERS = 2;

/** A read-ahead chunk's reusable buffer. */
interface Slot {
  readonly buf: Buffer;
  /** Reads being served from it, plus views of it handed out and not yet released. */
  users: number;
  evicted: boolean;
  /** Its GET finished or failed: nothing writes into it any more. */
  settled: boolean;
}

interface Chunk {
  readonly index: number;
  readonly bytes: number;
  /** Resolves once S3 answered; its bytes are served as they arrive. */
  readonly data: Promise<ArrivingBytes>;
  /** Budget held for it (released on eviction). */
  released: boolean;
  /** Its reusable buffer (full-size chunks only). */
  readonly slot: Slot | undefined;
}

export class S3ReadSource implements ReadSource {
  readonly size: number;
  readonly #o: ReadSourceOptions;
  readonly #chunks = new Map<number, Chunk>();
  readonly #ac = new AbortController();
  /**
   * Range buffers ready for reuse, and the in-use ones by their memory (what `release` is handed a view of). Weak: a
   * buffer whose views were dropped without `release` (a failed write, another caller) is collected, not kept here.
   */
  #free: Buffer[] = [];
  #slots = new WeakMap<ArrayBufferLike, Slot>();
  #nextSequential = 0;
  #closed = false;

  constructor(options: ReadSourceOptions) {
    this.#o = options;
    this.size = options.size;
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.#closed) throw new StorageError(StorageErrorCode.Failure, `${this.#o.what}: read after close`);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new StorageError(StorageErrorCode.Failure, `${this.#o.what}: invalid read range`);
    }
    if (offset >= this.size || length === 0) return new Uint8Array(0);
    const end = Math.min(this.size, offset + length);
    // Decided synchronously, so pipelined reads issued back to back all count as sequential.
    const sequential = offset === this.#nextSequential || this.#chunks.has(this.#chunkOf(offset));
    this.#nextSequential = end;
    if (!sequential) return (await this.#get(offset, end, signal)).slice(0, end - offset);

    const { chunkBytes, concurrency } = this.#o;
    const first = this.#chunkOf(offset);
    const last = this.#chunkOf(end - 1);
    // Chunks wholly before this read will not be asked for again by a sequential reader.
    for (const c of this.#chunks.values()) if (c.index < first) this.#evict(c);
    for (let i = first; i <= last + concurrency && i * chunkBytes < this.size; i++) this.#prefetch(i);
    // Taken and held synchronously, before any await: another read evicting these chunks meanwhile cannot recycle
    // their buffers, and this read serves from exactly the chunks it held.
    const chunks: (Chunk | undefined)[] = [];
    const held: Slot[] = [];
    for (let i = first; i <= last; i++) {
      const chunk = this.#chunks.get(i);
      chunks.push(chunk);
      if (chunk?.slot !== undefined) {
        chunk.slot.users++;
        held.push(chunk.slot);
      }
    }
    let kept: Slot | undefined;
    try {
      const parts: Uint8Array[] = [];
      let from: Slot | undefined;
      for (let i = first; i <= last; i++) {
        const chunk = chunks[i - first];
        const s = Math.max(offset, i * chunkBytes);
        const e = Math.min(end, (i + 1) * chunkBytes);
        if (chunk === undefined) {
          parts.push(await (await this.#get(s, e, signal)).slice(0, e - s));
          continue;
        }
        let bytes: Uint8Array;
        try {
          // Served as soon as these bytes arrived, not when the whole chunk did; a view of the range's buffer, never
          // a copy.
          bytes = await (await chunk.data).slice(s - i * chunkBytes, e - i * chunkBytes);
        } catch {
          // A failed read-ahead is not this read's failure: fetch the range now, once (a real error surfaces here).
          this.#evict(chunk);
          parts.push(await (await this.#get(s, e, signal)).slice(0, e - s));
          continue;
        }
        parts.push(bytes);
        from = chunk.slot;
        // Fully consumed by a sequential reader: give the memory back now.
        if (e === Math.min(this.size, (i + 1) * chunkBytes)) this.#evict(chunk);
      }
      if (parts.length !== 1) return Buffer.concat(parts);
      // The one view handed out keeps its buffer's hold until the caller releases it.
      kept = from;
      return parts[0] as Uint8Array;
    } finally {
      for (const slot of held) if (slot !== kept) this.#unhold(slot);
    }
  }

  release(bytes: Uint8Array): void {
    const slot = this.#slots.get(bytes.buffer);
    if (slot !== undefined && slot.users > 0) this.#unhold(slot);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ac.abort(new StorageError(StorageErrorCode.Aborted, `${this.#o.what}: closed`));
    for (const c of this.#chunks.values()) this.#evict(c);
    for (const b of this.#free) this.#budget.release(b.length);
    this.#free = [];
    this.#slots = new WeakMap();
  }

  #chunkOf(offset: number): number {
    return Math.floor(offset / this.#o.chunkBytes);
  }

  #prefetch(index: number): void {
    if (this.#chunks.has(index)) return;
    const { chunkBytes } = this.#o;
    const start = index * chunkBytes;
    const bytes = Math.min(chunkBytes, this.size - start);
    // A free buffer brings the budget it holds; anything else takes the chunk's bytes now or is not read ahead.
    const reused = bytes === chunkBytes ? this.#free.pop() : undefined;
    if (reused === undefined && !this.#budget.tryAcquire(bytes)) return;
    let slot: Slot | undefined;
    if (bytes === chunkBytes) {
      // Its own memory (never a slice of Node's shared pool): `release` finds the slot by it.
      const buf = reused ?? Buffer.allocUnsafeSlow(chunkBytes);
      slot = { buf, users: 0, evicted: false, settled: false };
      this.#slots.set(buf.buffer, slot);
    }
    const data = this.#get(start, start + bytes, undefined, slot);
    data.catch(() => undefined); // observed by the read that needs it; don't crash on an unobserved prefetch
    this.#chunks.set(index, { index, bytes, data, released: false, slot });
  }

  #evict(chunk: Chunk): void {
    if (this.#chunks.get(chunk.index) === chunk) this.#chunks.delete(chunk.index);
    if (chunk.slot !== undefined && !chunk.slot.evicted) {
      chunk.slot.evicted = true;
      this.#recycle(chunk.slot);
    }
    if (chunk.released) return;
    chunk.released = true;
    this.#budget.release(chunk.bytes);
  }

  /** Where read-ahead bytes (chunks and free buffers) are accounted. */
  get #budget(): ReadAheadBudget {
    return this.#o.budget ?? this.#o.ctx.podBudget;
  }

  #unhold(slot: Slot): void {
    slot.users--;
    this.#recycle(slot);
  }

  #settle(slot: Slot): void {
    slot.settled = true;
    this.#recycle(slot);
  }

  /** Back to the free list once nothing can read or write the buffer any more. */
  #recycle(slot: Slot): void {
    if (!slot.evicted || !slot.settled || slot.users > 0 || this.#closed) return;
    if (this.#slots.get(slot.buf.buffer) !== slot) return;
    this.#slots.delete(slot.buf.buffer);
    // Kept only within the budget, like the chunks: an idle open file cannot hold memory the budget does not see.
    if (this.#free.length < MAX_FREE_BUFFERS && this.#budget.tryAcquire(slot.buf.length)) this.#free.push(slot.buf);
  }

  /**
   * One ranged GET; resolves once S3 answered, with the body streaming into the result (into `slot`'s buffer when
   * given, which is settled once the body ended or failed).
   */
  async #get(start: number, end: number, signal?: AbortSignal, slot?: Slot): Promise<ArrivingBytes> {
    const { ctx, key, what, etag } = this.#o;
    const combined = signal ? AbortSignal.any([signal, this.#ac.signal]) : this.#ac.signal;
    let out: Awaited<ReturnType<S3Context['client']['getObjectRange']>>;
    try {
      out = await ctx.send('GetObject', what, combined, (o) =>
        ctx.client.getObjectRange(
          {
            Bucket: ctx.bucket,
            Key: key,
            Range: `bytes=${start}-${end - 1}`,
            ...(etag === undefined ? {} : { IfMatch: etag }),
          },
          o,
        ),
      );
    } catch (err) {
      if (slot !== undefined) this.#settle(slot);
      throw err;
    }
    const bytes = new ArrivingBytes(end - start, slot?.buf);
    // The body as the socket delivers it (never joined), read in the background; readers wait for their bytes only.
    const fed = bytes.feed(out.Body, (err) =>
      err instanceof RangeError
        ? new StorageError(
            StorageErrorCode.Unavailable,
            `${what}: S3 returned a body of another length than the ${end - start}-byte range`,
          )
        : new StorageError(StorageErrorCode.Unavailable, `${what}: reading the S3 response failed`, { cause: err }),
    );
    if (slot !== undefined) void fed.then(() => this.#settle(slot));
    return bytes;
  }
}
