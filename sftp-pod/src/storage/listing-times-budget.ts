// How many S3 lookups READDIR may spend on stored times (s3-listing-times.ts): a token bucket per user, one token
// per HeadObject or GetObjectTagging, refilled at `ratePerSecond` up to `burst`. A spent budget never waits and never
// fails: the entries it could not pay for show the listing's LastModified. Pure (the clock is injected); the buckets
// are common/src/rate/token-buckets.ts, shared with the operator's bound on requested usage measurements.
import { TokenBuckets } from '../../../common/src/rate/token-buckets.ts';

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

export class LookupBudget {
  readonly limits: ListingTimesLimits;
  readonly #now: () => number;
  readonly #buckets: TokenBuckets;

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
    this.#buckets = new TokenBuckets({ perSecond: limits.ratePerSecond, burst: limits.burst }, SWEEP_AT);
  }

  /** Lookups `user` may spend now (whole tokens). */
  available(user: string): number {
    return Math.floor(this.#buckets.tokens(user, this.#now()));
  }

  /** Spends `n` lookups of `user`'s budget; false (nothing spent) when fewer are left. */
  take(user: string, n = 1): boolean {
    return this.#buckets.take(user, this.#now(), n);
  }

  /** Gives back `n` lookups taken but not made (never past the burst). */
  refund(user: string, n = 1): void {
    this.#buckets.refund(user, this.#now(), n);
  }

  /** Users with a bucket kept (full ones are forgotten once 1,024 are kept: memory stays bounded). */
  get tracked(): number {
    return this.#buckets.size;
  }
}
