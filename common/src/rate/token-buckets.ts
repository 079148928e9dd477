// Token buckets by key (a user, a namespace): each starts full with `burst` tokens and refills continuously at
// `perSecond` up to `burst`. Used where a tenant's own actions must not cost the platform without bound: the pod's
// READDIR time lookups per user (sftp-pod/src/storage/listing-times-budget.ts) and the operator's requested usage
// measurements per namespace (operator/src/controllers/usage/request-gate.ts). Pure: callers pass the clock.
// A full bucket is the same as none, so memory stays bounded by the keys that spent recently.

export interface TokenRate {
  /** Tokens added per second, continuously (0: a spent bucket never refills). */
  readonly perSecond: number;
  /** The bucket's size, and what a key never seen holds. */
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  readonly rate: TokenRate;
  readonly #buckets = new Map<string, Bucket>();
  readonly #sweepAt: number;

  /** `sweepAt`: once this many buckets are kept, full ones are forgotten before a new one is added. */
  constructor(rate: TokenRate, sweepAt = 1024) {
    this.rate = rate;
    this.#sweepAt = sweepAt;
  }

  /** Tokens `key` holds at `now` (fractional). */
  tokens(key: string, now: number): number {
    const b = this.#buckets.get(key);
    if (b === undefined) return this.rate.burst;
    return Math.min(this.rate.burst, b.tokens + (Math.max(0, now - b.at) / 1000) * this.rate.perSecond);
  }

  /** Spends `n` tokens of `key`; false (nothing spent) when fewer are there. */
  take(key: string, now: number, n = 1): boolean {
    const tokens = this.tokens(key, now);
    if (tokens < n) return false;
    this.#set(key, tokens - n, now);
    return true;
  }

  /** Gives back `n` tokens taken but not used (never past the burst). */
  refund(key: string, now: number, n = 1): void {
    this.#set(key, Math.min(this.rate.burst, this.tokens(key, now) + n), now);
  }

  /** When `key` will hold `n` tokens (now if it does; Infinity if it never will). */
  readyAt(key: string, now: number, n = 1): number {
    const missing = n - this.tokens(key, now);
    if (missing <= 0) return now;
    if (this.rate.perSecond <= 0 || n > this.rate.burst) return Number.POSITIVE_INFINITY;
    return now + Math.ceil((missing * 1000) / this.rate.perSecond - 1e-6);
  }

  /** Buckets kept (keys that spent and have not refilled). */
  get size(): number {
    return this.#buckets.size;
  }

  /** Forgets full buckets. */
  sweep(now: number): void {
    for (const key of this.#buckets.keys()) if (this.tokens(key, now) >= this.rate.burst) this.#buckets.delete(key);
  }

  #set(key: string, tokens: number, now: number): void {
    if (!this.#buckets.has(key) && this.#buckets.size >= this.#sweepAt) this.sweep(now);
    this.#buckets.set(key, { tokens, at: now });
  }
}
