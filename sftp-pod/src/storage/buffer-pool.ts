// Free part buffers kept for reuse. Every upload part is a fresh multi-MiB ArrayBuffer otherwise, and freed ones
// linger until V8 collects them: measured, a single 1 GiB upload (8 MiB parts, 4 in flight) peaked at +91 MiB RSS for
// 40 MiB of buffered data. Reusing a few buffers keeps the pod's memory near what the budget accounts for. Buffers in
// the pool are not in use, so the pool is small (one upload's worth by default) and drops what does not fit.

export class BufferPool {
  readonly maxBytes: number;
  #pooled = 0;
  readonly #free = new Map<number, Buffer[]>();

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes held by free buffers now. */
  get pooledBytes(): number {
    return this.#pooled;
  }

  /** A buffer of exactly `size` bytes, reused when one is free; contents are unspecified. */
  take(size: number): Buffer {
    const list = this.#free.get(size);
    const buf = list?.pop();
    if (buf === undefined) return Buffer.allocUnsafe(size);
    this.#pooled -= size;
    return buf;
  }

  /** Returns a buffer the caller will never touch again; kept if it fits the pool, else left to the GC. */
  give(buf: Buffer): void {
    if (this.#pooled + buf.length > this.maxBytes) return;
    let list = this.#free.get(buf.length);
    if (list === undefined) {
      list = [];
      this.#free.set(buf.length, list);
    }
    list.push(buf);
    this.#pooled += buf.length;
  }
}
