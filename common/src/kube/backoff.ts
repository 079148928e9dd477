/** Exponential backoff with jitter: attempt 1 waits ~baseMs, doubling up to maxMs. */
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of the delay randomised: 0.2 draws from [0.8d, 1.2d] so retries of many keys spread out. */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly #random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 500;
    this.maxMs = options.maxMs ?? 5 * 60_000;
    this.factor = options.factor ?? 2;
    this.jitter = options.jitter ?? 0.2;
    this.#random = options.random ?? Math.random;
  }

  /** Delay before retry number `attempt` (1-based); never above maxMs, never negative. */
  delay(attempt: number): number {
    const exponent = Math.max(0, attempt - 1);
    const raw = Math.min(this.maxMs, this.baseMs * this.factor ** exponent);
    const spread = raw * this.jitter * (2 * this.#random() - 1);
    return Math.max(0, Math.min(this.maxMs, Math.round(raw + spread)));
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
