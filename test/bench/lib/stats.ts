// Pure arithmetic of the interleaved comparison: medians, per-round pairing of ratios, and the server order of a round.

/** Median of the finite values; NaN when there are none. */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface RoundSample {
  readonly round: number;
}

/**
 * Median over rounds of `metric(a) / metric(b)`, each ratio taken within one round (same minute, same machine load).
 * Rounds where either side is missing are skipped; NaN when no round has both.
 */
export function pairedRatio<S extends RoundSample>(
  as: readonly S[],
  bs: readonly S[],
  metric: (s: S) => number,
): number {
  const ratios: number[] = [];
  for (const a of as) {
    const b = bs.find((x) => x.round === a.round);
    if (b) ratios.push(metric(a) / metric(b));
  }
  return median(ratios);
}

/**
 * The servers in the order round `round` (1-based) runs them: rotated by one per round (A B C, B C A, C A B), so each
 * server runs first, in the middle and last once every n rounds and a burst of someone else's load hits all alike.
 */
export function rotation<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const k = (((round - 1) % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Counter differences `after - before` per key, dropping keys that did not move. */
export function diffCounts(
  after: Readonly<Record<string, number>>,
  before: Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export function total(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
