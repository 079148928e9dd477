// Brute-force defender: scores authentication failures per source address within an observation window and bans a
// source whose score reaches the threshold. Each new ban of the same source lasts twice as long as the previous one
// (up to a cap), so a persistent attacker backs off exponentially while a user who mistyped once is never affected.

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

/** Points per event: a login for an unknown user looks more like scanning than a mistyped password. */
export const Score = { wrongCredentials: 1, unknownUser: 2, limitExceeded: 3 } as const;

interface HostState {
  events: { at: number; score: number }[];
  bannedUntil: number;
  bans: number;
}

export interface DefenderHooks {
  onBan?(address: string, untilMs: number): void;
}

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
    const h = this.#hosts.get(address);
    return h !== undefined && h.bannedUntil > this.#now();
  }

  /** Records a failure; returns true when this failure banned the source. */
  record(address: string, score: number): boolean {
    if (!this.#o.enabled) return false;
    const now = this.#now();
    let h = this.#hosts.get(address);
    if (!h) {
      h = { events: [], bannedUntil: 0, bans: 0 };
      this.#hosts.set(address, h);
    }
    if (h.bannedUntil > now) return false;
    h.events = h.events.filter((e) => now - e.at < this.#o.observationMs);
    h.events.push({ at: now, score });
    const total = h.events.reduce((sum, e) => sum + e.score, 0);
    if (total < this.#o.threshold) return false;
    const duration = Math.min(this.#o.banMs * 2 ** h.bans, this.#o.maxBanMs);
    h.bans++;
    h.bannedUntil = now + duration;
    h.events = [];
    this.#hooks.onBan?.(address, h.bannedUntil);
    return true;
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
