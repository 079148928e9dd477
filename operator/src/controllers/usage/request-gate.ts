// Bounds on requested usage measurements (annotation sftpgate.io/measure-usage, which tenants write as often as
// they like; docs/security.md): a user is measured on request at most once per `userIntervalMs`, and each namespace
// spends from a token bucket (`perMinute` on average, `burst` at once), so one namespace's requests cost the
// platform's bucket a bounded number of listings. A request over either bound waits (never dropped): `readyAt` says
// until when. State lives in memory on the leader; a new leader starts with full buckets. Pure apart from the clock
// values callers pass in.

export interface RequestLimits {
  /** Least time between the starts of two requested measurements of one user; 0 = no per-user bound. */
  readonly userIntervalMs: number;
  /** Requested measurements one namespace may start per minute, on average. */
  readonly perMinute: number;
  /** Requested measurements one namespace may start at once after a quiet spell (the bucket's size). */
  readonly burst: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = { userIntervalMs: 60_000, perMinute: 6, burst: 10 };

interface Bucket {
  tokens: number;
  at: number;
}

export class RequestGate {
  readonly #limits: RequestLimits;
  readonly #ratePerMs: number;
  /** User key -> when its last requested measurement started. */
  readonly #lastStart = new Map<string, number>();
  readonly #buckets = new Map<string, Bucket>();

  constructor(limits: RequestLimits) {
    this.#limits = { ...limits, burst: Math.max(1, limits.burst) };
    this.#ratePerMs = Math.max(0, limits.perMinute) / 60_000;
  }

  /** Tokens namespace `ns` holds at `now` (refilled since the last look, capped at the burst). */
  #tokens(ns: string, now: number): number {
    const b = this.#buckets.get(ns);
    if (!b) return this.#limits.burst;
    return Math.min(this.#limits.burst, b.tokens + Math.max(0, now - b.at) * this.#ratePerMs);
  }

  /** When user `key` may be measured on request again by the per-user bound (<= now: already). */
  userReadyAt(key: string): number {
    const last = this.#lastStart.get(key);
    return last === undefined ? 0 : last + this.#limits.userIntervalMs;
  }

  /**
   * When namespace `ns` can start a requested measurement that has `ahead` others of its namespace queued before it
   * (<= now: at once). Infinity when the namespace gets no tokens at all (perMinute 0 and an empty bucket).
   */
  namespaceReadyAt(ns: string, now: number, ahead: number): number {
    const missing = ahead + 1 - this.#tokens(ns, now);
    if (missing <= 0) return now;
    return this.#ratePerMs > 0 ? now + Math.ceil(missing / this.#ratePerMs) : Number.POSITIVE_INFINITY;
  }

  /** Records the start of a requested measurement of `key` in namespace `ns`: spends one token. */
  take(key: string, ns: string, now: number): void {
    this.#buckets.set(ns, { tokens: this.#tokens(ns, now) - 1, at: now });
    this.#lastStart.set(key, now);
  }

  /** Drops the state of users and namespaces no longer present (a full bucket and no history are the same). */
  retain(keys: ReadonlySet<string>, now: number): void {
    for (const key of this.#lastStart.keys()) {
      if (!keys.has(key) || this.userReadyAt(key) <= now) this.#lastStart.delete(key);
    }
    for (const ns of this.#buckets.keys()) if (this.#tokens(ns, now) >= this.#limits.burst) this.#buckets.delete(ns);
  }
}
