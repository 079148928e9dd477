// Admission of unauthenticated connections, before any key exchange: a hard cap overall and per source (an IPv4
// address or an IPv6 /64), and OpenSSH-style MaxStartups random early drop (start:rate:full) — once `start`
// connections are unauthenticated, each new one is dropped with probability `rate`% rising linearly to 100% at
// `full`, so a flood of half-open logins cannot hold every slot while real clients still get through sometimes.
import { sourceKey } from './cidr.ts';

export interface MaxStartups {
  readonly start: number;
  /** Percent dropped at `start`. */
  readonly rate: number;
  readonly full: number;
}

export type AdmissionResult = 'accepted' | 'refused_limit' | 'refused_startups';

/** Drop probability (0..1) for a new connection when `unauthenticated` are already waiting. Pure. */
export function dropProbability(unauthenticated: number, m: MaxStartups): number {
  if (unauthenticated >= m.full) return 1;
  if (unauthenticated < m.start) return 0;
  const span = m.full - m.start;
  const ramp = span > 0 ? (unauthenticated - m.start) / span : 1;
  return Math.min(1, m.rate / 100 + (1 - m.rate / 100) * ramp);
}

export class Admission {
  readonly #startups: MaxStartups;
  readonly #perSource: number;
  readonly #random: () => number;
  #total = 0;
  readonly #bySource = new Map<string, number>();

  constructor(startups: MaxStartups, perSource: number, random: () => number = Math.random) {
    this.#startups = startups;
    this.#perSource = perSource;
    this.#random = random;
  }

  get unauthenticated(): number {
    return this.#total;
  }

  /** Decides on a new connection from `address`; an accepted one is counted until leave(address). */
  enter(address: string): AdmissionResult {
    const key = sourceKey(address);
    const fromSource = this.#bySource.get(key) ?? 0;
    if (this.#total >= this.#startups.full || fromSource >= this.#perSource) return 'refused_limit';
    const p = dropProbability(this.#total, this.#startups);
    if (p > 0 && this.#random() < p) return 'refused_startups';
    this.#total++;
    this.#bySource.set(key, fromSource + 1);
    return 'accepted';
  }

  /** The connection authenticated or went away. Call once per accepted enter(). */
  leave(address: string): void {
    const key = sourceKey(address);
    this.#total--;
    const n = (this.#bySource.get(key) ?? 1) - 1;
    if (n <= 0) this.#bySource.delete(key);
    else this.#bySource.set(key, n);
  }
}
