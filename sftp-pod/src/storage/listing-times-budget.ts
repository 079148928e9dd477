// How many S3 lookups READDIR may spend on stored times (s3-listing-times.ts): a token bucket per user, one token
// per HeadObject or GetObjectTagging, refilled at `ratePerSecond` up to `burst`. A spent budget never waits and never
// fails: the entries it could not pay for show the listing's LastModified. Pure (the clock is injected).

export interface ListingTimesLimits {
  /** Files looked up per READDIR reply; a longer S3 page is answered in replies of at most this many entries. */
  readonly maxPerPage: number;
  /** Lookups (S3 requests) per second per user, refilled continuously. */
  readonly ratePerSecond: number;
  /** Lookups a user may spend at once (the bucket's size; it starts full). */
  readonly burst: number;
}

/** The defaults of `--listing-times-max-per-page` and `--listing-times-rate` (burst: 10 s of the rate). */
export const DEFAULT_LISTING_TIMES_LIMITS: ListingTimesLimits = { maxPerPage: 100, ratePerSecond: 100, burst: 1000 };

/** Buckets kept before full ones are forgotten (a full bucket is the same as no bucket). */
const SWEEP_AT = 1024;

interface Bucket {
  tokens: number;
  at: number;
}

export class LookupBudget {
  readonly limits: ListingTimesLimits;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /** Throws RangeError for a limit that is not a positive integer (rate: >= 0). */
  constructor(limits: ListingTimesLimits, now: () => number = Date.now) {
    for (const [name, v, min] of [
      ['maxPerPage', limits.maxPerPage, 1],
      ['ratePerSecond', limits.ratePerSecond, 0],
      ['burst', limits.burst, 1],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}`);
    }
    this.limits = limits;
    this.#now = now;
  }

  /** Lookups `user` may spend now (whole tokens). */
  available(user: string): number {
    return Math.floor(this.#refill(user).tokens);
  }

  /** Spends one lookup of `user`'s budget; false (nothing spent) when it is empty. */
  take(user: string): boolean {
    const b = this.#refill(user);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Users with a bucket kept (full ones are forgotten once 1,024 are kept: memory stays bounded). */
  get tracked(): number {
    return this.#buckets.size;
  }

  #refill(user: string): Bucket {
    const now = this.#now();
    let b = this.#buckets.get(user);
    if (b === undefined) {
      if (this.#buckets.size >= SWEEP_AT) this.#sweep(now);
      b = { tokens: this.limits.burst, at: now };
      this.#buckets.set(user, b);
      return b;
    }
    const elapsed = Math.max(0, now - b.at) / 1000;
    b.tokens = Math.min(this.limits.burst, b.tokens + elapsed * this.limits.ratePerSecond);
    b.at = now;
    return b;
  }

  #sweep(now: number): void {
    const { burst, ratePerSecond } = this.limits;
    for (const [user, b] of this.#buckets) {
      if (b.tokens + (Math.max(0, now - b.at) / 1000) * ratePerSecond >= burst) this.#buckets.delete(user);
    }
  }
}
