// Bandwidth pacing for one direction. Requests are processed one at a time, so waiting here stops reading the
// channel and the client's window closes — the same mechanism as backpressure.

/** What a session needs from a pacer; one instance may be shared by several sessions (a per-user limit). */
export interface RateLimiter {
  /** Resolves when `bytes` may be sent; resolves early when `signal` aborts. */
  take(bytes: number, signal: AbortSignal): Promise<void>;
}

/**
 * A pacing clock: each transfer of n bytes moves the earliest start of the next one by n / rate. A burst of one
 * second's worth is allowed after an idle period. The rate can change while in use (a users-table update); 0 means
 * unlimited.
 */
export class Pacer implements RateLimiter {
  #rate: number;
  #next = 0;

  constructor(bytesPerSecond: number) {
    this.#rate = bytesPerSecond;
  }

  get rate(): number {
    return this.#rate;
  }

  setRate(bytesPerSecond: number): void {
    this.#rate = bytesPerSecond;
  }

  async take(bytes: number, signal: AbortSignal): Promise<void> {
    if (this.#rate <= 0) return;
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
