// Brute-force defender: scores authentication failures per source within an observation window and bans a source
// whose score reaches the threshold. Each new ban of the same source lasts twice as long as the previous one (up to a
// cap), so a persistent attacker backs off exponentially while a user who mistyped once is never affected.
//
// - A source is an IPv4 address or an IPv6 /64 (cidr.ts sourceKey): one IPv6 host holds a whole /64.
// - An unknown user and a wrong credential score the same, so the ban point does not reveal which usernames exist.
// - The same failed guess repeated (same username and credential, named by an opaque `attempt` fingerprint) scores
//   once per observation window: a client retrying a just-created user the pod does not know yet is not guessing,
//   and never reaches a ban however often it retries; an attacker must vary the guess, and each variation counts.
import { sourceKey } from './cidr.ts';

export interface DefenderOptions {
  readonly enabled: boolean;
  /** Score at which a source is banned. */
  readonly threshold: number;
  /** Failures older than this stop counting. */
  readonly observationMs: number;
  readonly banMs: number;
  readonly maxBanMs: number;
}

export const DEFAULT_DEFENDER: DefenderOptions = {
  enabled: true,
  threshold: 10,
  observationMs: 10 * 60_000,
  banMs: 5 * 60_000,
  maxBanMs: 24 * 3600_000,
};

/** Points per event. Unknown user and wrong credentials are equal on purpose (see the header). */
export const Score = { failedLogin: 1, limitExceeded: 3 } as const;

interface HostState {
  events: { at: number; score: number; attempt: string | undefined }[];
  bannedUntil: number;
  bans: number;
}

export interface DefenderHooks {
  onBan?(source: string, untilMs: number): void;
}

/** Distinct failed guesses remembered per source: bounds memory under a flood (older ones still count by score). */
const MAX_EVENTS_PER_SOURCE = 256;

export class Defender {
  readonly #o: DefenderOptions;
  readonly #hooks: DefenderHooks;
  readonly #hosts = new Map<string, HostState>();
  readonly #now: () => number;

  constructor(options: DefenderOptions, hooks: DefenderHooks = {}, now: () => number = Date.now) {
    this.#o = options;
    this.#hooks = hooks;
    this.#now = now;
  }

  isBanned(address: string): boolean {
    if (!this.#o.enabled) return false;
    const h = this.#hosts.get(sourceKey(address));
    return h !== undefined && h.bannedUntil > this.#now();
  }

  /**
   * Records a failure from `address`; `attempt` names the guess (a repeat within the observation window scores 0).
   * Returns true when this failure banned the source.
   */
  record(address: string, score: number, attempt?: string): boolean {
    if (!this.#o.enabled) return false;
    const now = this.#now();
    const key = sourceKey(address);
    let h = this.#hosts.get(key);
    if (!h) {
      h = { events: [], bannedUntil: 0, bans: 0 };
      this.#hosts.set(key, h);
    }
    if (h.bannedUntil > now) return false;
    h.events = h.events.filter((e) => now - e.at < this.#o.observationMs);
    if (attempt !== undefined && h.events.some((e) => e.attempt === attempt)) return false;
    h.events.push({ at: now, score, attempt });
    const total = h.events.reduce((sum, e) => sum + e.score, 0);
    if (total >= this.#o.threshold) {
      const duration = Math.min(this.#o.banMs * 2 ** h.bans, this.#o.maxBanMs);
      h.bans++;
      h.bannedUntil = now + duration;
      h.events = [];
      this.#hooks.onBan?.(key, h.bannedUntil);
      return true;
    }
    if (h.events.length > MAX_EVENTS_PER_SOURCE) {
      // Fold the oldest into an anonymous event of the same total score: the count stays, the fingerprints go.
      const [a, b] = h.events;
      if (a && b) h.events.splice(0, 2, { at: b.at, score: a.score + b.score, attempt: undefined });
    }
    return false;
  }

  /** Sources banned right now (gauge). Also forgets idle sources so the map stays bounded by recent activity. */
  bannedCount(): number {
    const now = this.#now();
    let n = 0;
    for (const [addr, h] of this.#hosts) {
      if (h.bannedUntil > now) n++;
      else if (h.events.every((e) => now - e.at >= this.#o.observationMs) && now - h.bannedUntil > this.#o.maxBanMs) {
        this.#hosts.delete(addr);
      }
    }
    return n;
  }
}
