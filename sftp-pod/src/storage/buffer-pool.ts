// Free part buffers kept for reuse. Every upload part is a fresh multi-MiB ArrayBuffer otherwise, and freed ones
// linger until V8 collects them: measured, a single 1 GiB upload (8 MiB parts, 4 in flight) peaked at +91 MiB RSS for
// 40 MiB of buffered data. Reusing a few buffers keeps the pod's memory near what the budget accounts for. Buffers in
// the pool are not in use, so the pool is small (one upload's worth by default) and drops what does not fit.
//
// Once the pool has been idle for `idleMs` (nothing taken or given back), it frees what it holds: a pod that finished
// its uploads does not keep an upload's worth of buffers for the next transfer (a download needs none of them).
// Freeing detaches each buffer's ArrayBuffer (`transfer(0)`), which releases its memory at once instead of at some
// later mark-compact — an idle pod runs none (docs/benchmarks.md, "Pod memory and GC, session 19"). Only buffers
// that sat in the pool for the whole idle period are freed, so no socket write can still be reading one.

/** Idle time after which the pool frees its buffers. */
export const POOL_IDLE_MS = 2_000;

export class BufferPool {
  readonly maxBytes: number;
  readonly #idleMs: number;
  readonly #now: () => number;
  #pooled = 0;
  readonly #free = new Map<number, Buffer[]>();
  #lastUse = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `now` is the clock idleness is measured with (tests pass their own). */
  constructor(maxBytes: number, idleMs = POOL_IDLE_MS, now: () => number = () => performance.now()) {
    this.maxBytes = maxBytes;
    this.#idleMs = idleMs;
    this.#now = now;
  }

  /** Bytes held by free buffers now. */
  get pooledBytes(): number {
    return this.#pooled;
  }

  /** A buffer of exactly `size` bytes, reused when one is free; contents are unspecified. */
  take(size: number): Buffer {
    this.#lastUse = this.#now();
    const list = this.#free.get(size);
    const buf = list?.pop();
    if (buf === undefined) return Buffer.allocUnsafe(size);
    this.#pooled -= size;
    return buf;
  }

  /** Returns a buffer the caller will never touch again; kept if it fits the pool, else left to the GC. */
  give(buf: Buffer): void {
    this.#lastUse = this.#now();
    if (this.#pooled + buf.length > this.maxBytes) return;
    let list = this.#free.get(buf.length);
    if (list === undefined) {
      list = [];
      this.#free.set(buf.length, list);
    }
    list.push(buf);
    this.#pooled += buf.length;
    this.#timer ??= setTimeout(() => this.#idleCheck(), this.#idleMs).unref();
  }

  /** Frees every pooled buffer now. */
  clear(): void {
    for (const list of this.#free.values()) for (const buf of list) release(buf);
    this.#free.clear();
    this.#pooled = 0;
  }

  #idleCheck(): void {
    this.#timer = undefined;
    const idle = this.#now() - this.#lastUse;
    if (idle >= this.#idleMs) this.clear();
    else if (this.#pooled > 0) this.#timer = setTimeout(() => this.#idleCheck(), this.#idleMs - idle).unref();
  }
}

/** Frees a buffer's memory now when it is the only view of its own ArrayBuffer (what `take` allocates); else leaves it to the GC. */
function release(buf: Buffer): void {
  const ab = buf.buffer;
  if (ab instanceof ArrayBuffer && !ab.detached && buf.byteOffset === 0 && buf.byteLength === ab.byteLength) {
    ab.transfer(0);
  }
}
