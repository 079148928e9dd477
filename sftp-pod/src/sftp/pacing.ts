// Per-session bandwidth pacing (the users table's `bandwidth`), one clock per direction.

/**
 * A pacing clock for one direction: each transfer of n bytes moves the earliest start of the next one by n / rate.
 * Requests are processed one at a time, so waiting here stops reading the channel and the client's window closes —
 * the same mechanism as backpressure. A burst of one second's worth is allowed after an idle period.
 */
export class Pacer {
  readonly #rate: number;
  #next = 0;

  constructor(bytesPerSecond: number) {
    this.#rate = bytesPerSecond;
  }

  /** Resolves when `bytes` may be considered sent; resolves early (never rejects) when `signal` aborts. */
  async take(bytes: number, signal: AbortSignal): Promise<void> {
    const now = performance.now();
    this.#next = Math.max(this.#next, now - 1000) + (bytes / this.#rate) * 1000;
    const wait = this.#next - now;
    if (wait > 1) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, wait);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}

/** A pacer for a configured rate; 0 or absent means unlimited (no pacer). */
export function pacerFor(bytesPerSecond: number | undefined): Pacer | undefined {
  return bytesPerSecond ? new Pacer(bytesPerSecond) : undefined;
}
