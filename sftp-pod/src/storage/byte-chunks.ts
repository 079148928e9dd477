// A response body kept as the chunks the socket delivered, never joined: a read of a range inside one chunk is a view
// of it (no copy), and only a range that straddles chunks copies its own bytes. Before, every ranged GET's body was
// collected into one array by the SDK (`transformToByteArray` → `concatBytes`): a copy of every downloaded byte.

export class ByteChunks {
  readonly length: number;
  readonly #chunks: readonly Uint8Array[];
  /** Start offset of each chunk. */
  readonly #starts: readonly number[];

  constructor(chunks: readonly Uint8Array[]) {
    const starts: number[] = [];
    let at = 0;
    for (const c of chunks) {
      starts.push(at);
      at += c.length;
    }
    this.#chunks = chunks;
    this.#starts = starts;
    this.length = at;
  }

  /** Bytes [from, to): a view when they lie in one chunk, else one copy of just those bytes. */
  slice(from: number, to: number): Uint8Array {
    if (from < 0 || to > this.length || from > to) throw new RangeError(`slice ${from}-${to} of ${this.length}`);
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

/** Collects a Node readable (an S3 response body) as its chunks. */
export async function collectChunks(body: AsyncIterable<Uint8Array | string>): Promise<ByteChunks> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return new ByteChunks(chunks);
}
