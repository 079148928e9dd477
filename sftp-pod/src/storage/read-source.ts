// One download: ranged GETs. A read that continues where the previous one ended is "sequential" and triggers
// read-ahead: up to `concurrency` chunks beyond it are fetched in parallel, each only if its bytes can be taken from
// the pod budget without waiting (read-ahead is an optimisation; it never blocks or deadlocks a transfer). Any other
// read is served by one exact ranged GET. Every GET carries If-Match with the ETag seen at open, so an object
// replaced mid-download fails the read instead of splicing two versions together.

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

interface Chunk {
  readonly index: number;
  readonly bytes: number;
  /** Resolves once S3 answered; its bytes are served as they arrive. */
  readonly data: Promise<ArrivingBytes>;
  /** Budget held for it (released on eviction). */
  released: boolean;
}

export class S3ReadSource implements ReadSource {
  readonly size: number;
  readonly #o: ReadSourceOptions;
  readonly #chunks = new Map<number, Chunk>();
  readonly #ac = new AbortController();
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
    const parts: Uint8Array[] = [];
    for (let i = first; i <= last; i++) {
      const chunk = this.#chunks.get(i);
      const s = Math.max(offset, i * chunkBytes);
      const e = Math.min(end, (i + 1) * chunkBytes);
      if (chunk === undefined) {
        parts.push(await (await this.#get(s, e, signal)).slice(0, e - s));
        continue;
      }
      let bytes: Uint8Array;
      try {
        // Served as soon as these bytes arrived, not when the whole chunk did; a view of the socket's chunk when the
        // read lies within one (most do), never a copy of the whole range.
        bytes = await (await chunk.data).slice(s - i * chunkBytes, e - i * chunkBytes);
      } catch {
        // A failed read-ahead is not this read's failure: fetch the range now, once (a real error surfaces here).
        this.#evict(chunk);
        parts.push(await (await this.#get(s, e, signal)).slice(0, e - s));
        continue;
      }
      parts.push(bytes);
      // Fully consumed by a sequential reader: give the memory back now.
      if (e === Math.min(this.size, (i + 1) * chunkBytes)) this.#evict(chunk);
    }
    return parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ac.abort(new StorageError(StorageErrorCode.Aborted, `${this.#o.what}: closed`));
    for (const c of this.#chunks.values()) this.#evict(c);
  }

  #chunkOf(offset: number): number {
    return Math.floor(offset / this.#o.chunkBytes);
  }

  #prefetch(index: number): void {
    if (this.#chunks.has(index)) return;
    const { chunkBytes, ctx } = this.#o;
    const start = index * chunkBytes;
    const bytes = Math.min(chunkBytes, this.size - start);
    if (!(this.#o.budget ?? ctx.podBudget).tryAcquire(bytes)) return;
    const data = this.#get(start, start + bytes, this.#ac.signal);
    data.catch(() => undefined); // observed by the read that needs it; don't crash on an unobserved prefetch
    this.#chunks.set(index, { index, bytes, data, released: false });
  }

  #evict(chunk: Chunk): void {
    this.#chunks.delete(chunk.index);
    if (chunk.released) return;
    chunk.released = true;
    (this.#o.budget ?? this.#o.ctx.podBudget).release(chunk.bytes);
  }

  /** One ranged GET; resolves once S3 answered, with the body streaming into the result. */
  async #get(start: number, end: number, signal?: AbortSignal): Promise<ArrivingBytes> {
    const { ctx, key, what, etag } = this.#o;
    const combined = signal ? AbortSignal.any([signal, this.#ac.signal]) : this.#ac.signal;
    const out = await ctx.send('GetObject', what, combined, (o) =>
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
    const bytes = new ArrivingBytes(end - start);
    // The body as the socket delivers it (never joined), read in the background; readers wait for their bytes only.
    void bytes.feed(out.Body, (err) =>
      err instanceof RangeError
        ? new StorageError(
            StorageErrorCode.Unavailable,
            `${what}: S3 returned a body of another length than the ${end - start}-byte range`,
          )
        : new StorageError(StorageErrorCode.Unavailable, `${what}: reading the S3 response failed`, { cause: err }),
    );
    return bytes;
  }
}
