// A response body kept as the chunks the socket delivered, never joined: a read of a range inside one chunk is a view
// of it (no copy), and only a range that straddles chunks copies its own bytes. Before, every ranged GET's body was
// collected into one array by the SDK (`transformToByteArray` → `concatBytes`): a copy of every downloaded byte.
// `ArrivingBytes` is the same while the body still streams in: a range is served as soon as its bytes arrived.

export class ByteChunks {
  readonly #chunks: Uint8Array[] = [];
  /** Start offset of each chunk. */
  readonly #starts: number[] = [];
  #length = 0;

  constructor(chunks: readonly Uint8Array[] = []) {
    for (const c of chunks) this.push(c);
  }

  get length(): number {
    return this.#length;
  }

  /** Appends the next chunk of the body. */
  push(c: Uint8Array): void {
    this.#starts.push(this.#length);
    this.#chunks.push(c);
    this.#length += c.length;
  }

  /** Bytes [from, to): a view when they lie in one chunk, else one copy of just those bytes. */
  slice(from: number, to: number): Uint8Array {
    if (from < 0 || to > this.#length || from > to) throw new RangeError(`slice ${from}-${to} of ${this.#length}`);
    if (from === to) return new Uint8Array(0);
    let i = this.#find(from);
    const first = this.#chunks[i] as Uint8Array;
    const start = this.#starts[i] as number;
    if (to - start <= first.length) return first.subarray(from - start, to - start);
    const out = Buffer.allocUnsafe(to - from);
    let written = 0;
    for (; written < out.length; i++) {
      const c = this.#chunks[i] as Uint8Array;
      const s = this.#starts[i] as number;
      const piece = c.subarray(Math.max(0, from - s), Math.min(c.length, to - s));
      out.set(piece, written);
      written += piece.length;
    }
    return out;
  }

  /** Index of the chunk holding byte `offset` (binary search). */
  #find(offset: number): number {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    // Skip empty chunks that start at the same offset.
    while ((this.#chunks[lo] as Uint8Array).length === 0 && lo < this.#chunks.length - 1) lo++;
    return lo;
  }
}

interface Waiter {
  readonly to: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * A body of `expected` bytes that is still arriving (`feed` pumps it): `slice` resolves as soon as the range's bytes
 * are in, and rejects with the body's failure (or a length mismatch) if they never come.
 */
export class ArrivingBytes {
  readonly expected: number;
  readonly #bytes = new ByteChunks();
  #failure: unknown;
  #waiters: Waiter[] = [];

  constructor(expected: number) {
    this.expected = expected;
  }

  /** Reads `body` to its end; `onFailure` turns a stream error or a wrong length into the error readers see. */
  async feed(body: AsyncIterable<Uint8Array | string>, onFailure: (err: unknown) => unknown): Promise<void> {
    try {
      for await (const c of body) {
        this.#bytes.push(typeof c === 'string' ? Buffer.from(c) : c);
        if (this.#bytes.length > this.expected) throw new RangeError('more bytes than the range');
        this.#wake();
      }
      if (this.#bytes.length !== this.expected) throw new RangeError('fewer bytes than the range');
    } catch (err) {
      this.#failure = onFailure(err);
      for (const w of this.#waiters) w.reject(this.#failure);
      this.#waiters = [];
    }
  }

  /** Bytes [from, to) once they arrived (a view when inside one socket chunk). */
  async slice(from: number, to: number): Promise<Uint8Array> {
    if (from < 0 || to > this.expected || from > to) throw new RangeError(`slice ${from}-${to} of ${this.expected}`);
    if (to > this.#bytes.length) {
      if (this.#failure !== undefined) throw this.#failure;
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      this.#waiters.push({ to, resolve, reject });
      await promise;
    }
    return this.#bytes.slice(from, to);
  }

  #wake(): void {
    const have = this.#bytes.length;
    if (!this.#waiters.some((w) => w.to <= have)) return;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.to <= have) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }
}
