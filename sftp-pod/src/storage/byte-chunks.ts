// A ranged GET's body as it arrives: `ArrivingBytes` copies the socket's chunks into one buffer the size of the range
// and serves a read as a view of it as soon as the read's bytes are in. Before the lean S3 client, every body was
// collected by the SDK and joined (`concatBytes`); before this sprint, the socket's chunks were kept as they came and
// a read straddling two (most 32 KiB READs over TLS's <= 16 KiB chunks) was joined into a fresh buffer per READ.

import type { WireBody } from '../../../common/src/s3/wire-get.ts';

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
  /**
   * The whole range in one buffer, filled as the body arrives: a READ is always a view (never a join of the socket's
   * <= 16 KiB TLS chunks into a fresh 32 KiB buffer), and the socket's chunks die young instead of living in the
   * young generation until the read-ahead chunk is consumed (docs/benchmarks.md, "Download path, session 18 sprint").
   */
  readonly #buf: Buffer;
  #have = 0;
  #failure: unknown;
  #waiters: Waiter[] = [];

  /** `into`: memory to fill (at least `expected` bytes; the read source's reused range buffer), else a new buffer. */
  constructor(expected: number, into?: Buffer) {
    if (into !== undefined && into.length < expected) throw new RangeError('buffer shorter than the range');
    this.expected = expected;
    this.#buf = into === undefined ? Buffer.allocUnsafe(expected) : into.subarray(0, expected);
  }

  /**
   * Reads the lean S3 client's ranged-GET body to its end, each socket read copied from the connection's read buffer
   * straight into this range's buffer (no Buffer, stream push or event per TLS record; docs/benchmarks.md, "S3
   * download path, session 19"). `onFailure` turns the body's failure or a wrong length into the error readers see.
   */
  async feed(body: WireBody, onFailure: (err: unknown) => unknown): Promise<void> {
    try {
      if (body.length !== this.expected) {
        body.destroy();
        throw new RangeError('a body of another length than the range');
      }
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      body.pump(
        (src, start, end) => {
          src.copy(this.#buf, this.#have, start, end);
          this.#have += end - start;
          this.#wake();
        },
        (err) => (err === undefined ? resolve() : reject(err)),
      );
      await promise;
      if (this.#have !== this.expected) throw new RangeError('fewer bytes than the range');
    } catch (err) {
      this.#failure = onFailure(err);
      for (const w of this.#waiters) w.reject(this.#failure);
      this.#waiters = [];
    }
  }

  /**
   * Bytes [from, to) once they arrived: a view. Its memory stays valid until the read source reuses the buffer, which
   * it does only once every view it handed out was released (read-source.ts).
   */
  async slice(from: number, to: number): Promise<Uint8Array> {
    if (from < 0 || to > this.expected || from > to) throw new RangeError(`slice ${from}-${to} of ${this.expected}`);
    if (to > this.#have) {
      if (this.#failure !== undefined) throw this.#failure;
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      this.#waiters.push({ to, resolve, reject });
      await promise;
    }
    return this.#buf.subarray(from, to);
  }

  #wake(): void {
    const have = this.#have;
    if (!this.#waiters.some((w) => w.to <= have)) return;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.to <= have) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }
}
