// Bounds on requested usage measurements (annotation sftpgate.io/measure-usage, which tenants write as often as
// they like; docs/security.md): a user is measured on request at most once per `userIntervalMs`, and each namespace
// spends from a token bucket (`perMinute` on average, `burst` at once), so one namespace's requests cost the
// platform's bucket a bounded number of listings. A request over either bound waits (never dropped): `readyAt` says
// until when. State lives in memory on the leader; a new leader starts with full buckets. Pure apart from the clock
// values callers pass in; the buckets are common/src/rate/token-buckets.ts.
import { TokenBuckets } from '../../../../common/src/rate/token-buckets.ts';

export interface RequestLimits {
  /** Least time between the starts of two requested measurements of one user; 0 = no per-user bound. */
  readonly userIntervalMs: number;
  /** Requested measurements one namespace may start per minute, on average. */
  readonly perMinute: number;
  /** Requested measurements one namespace may start at once after a quiet spell (the bucket's size). */
  readonly burst: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = { userIntervalMs: 60_000, perMinute: 6, burst: 10 };

export class RequestGate {
  readonly #userIntervalMs: number;
  /** User key -> when its last requested measurement started. */
  readonly #lastStart = new Map<string, number>();
  readonly #buckets: TokenBuckets;

  constructor(limits: RequestLimits) {
    this.#userIntervalMs = limits.userIntervalMs;
    this.#buckets = new TokenBuckets({
      perSecond: Math.max(0, limits.perMinute) / 60,
      burst: Math.max(1, limits.burst),
    });
  }

  /** When user `key` may be measured on request again by the per-user bound (<= now: already). */
  userReadyAt(key: string): number {
    const last = this.#lastStart.get(key);
    return last === undefined ? 0 : last + this.#userIntervalMs;
  }

  /**
   * When namespace `ns` can start a requested measurement that has `ahead` others of its namespace queued before it
   * (<= now: at once). Infinity when the namespace gets no tokens at all (perMinute 0 and an empty bucket).
   */
  namespaceReadyAt(ns: string, now: number, ahead: number): number {
    const missing = ahead + 1 - this.#buckets.tokens(ns, now);
    if (missing <= 0) return now;
    // Past the burst the queue drains at the rate: the k-th waits for k tokens more than the bucket can hold.
    const perSecond = this.#buckets.rate.perSecond;
    // (less a hair, so float noise in the refill never adds a millisecond)
    return perSecond > 0 ? now + Math.ceil((missing * 1000) / perSecond - 1e-6) : Number.POSITIVE_INFINITY;
  }

  /** Records the start of a requested measurement of `key` in namespace `ns`: spends one token. */
  take(key: string, ns: string, now: number): void {
    this.#buckets.take(ns, now);
    this.#lastStart.set(key, now);
  }

  /** Drops the state of users and namespaces no longer needed (a full bucket and no history are the same). */
  retain(keys: { has(key: string): boolean }, now: number): void {
    for (const key of this.#lastStart.keys()) {
      if (!keys.has(key) || this.userReadyAt(key) <= now) this.#lastStart.delete(key);
    }
    this.#buckets.sweep(now);
  }
}
