// Just enough of the Prometheus text format to diff two scrapes of the pod's /metrics: counters summed over label
// subsets, histogram buckets, and histogram_quantile's linear interpolation inside a bucket.

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses an exposition; comments and unparsable lines are skipped. */
export function parseProm(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m?.[1] || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) {
      if (l[1] !== undefined && l[2] !== undefined)
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value =
      m[3] === '+Inf' ? Number.POSITIVE_INFINITY : m[3] === '-Inf' ? Number.NEGATIVE_INFINITY : Number(m[3]);
    out.push({ name: m[1], labels, value });
  }
  return out;
}

function matches(labels: Readonly<Record<string, string>>, want: Readonly<Record<string, string>>): boolean {
  return Object.entries(want).every(([k, v]) => labels[k] === v);
}

/** Sum of every sample called `name` whose labels include `want`. */
export function sumOf(
  samples: readonly PromSample[],
  name: string,
  want: Readonly<Record<string, string>> = {},
): number {
  let sum = 0;
  for (const s of samples) if (s.name === name && matches(s.labels, want)) sum += s.value;
  return sum;
}

/** Sum of `name` (labels including `want`) grouped by the value of one label (e.g. S3 requests by operation). */
export function sumBy(
  samples: readonly PromSample[],
  name: string,
  label: string,
  want: Readonly<Record<string, string>> = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name || !matches(s.labels, want)) continue;
    const key = s.labels[label] ?? '';
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

export interface Histogram {
  /** Cumulative counts by upper bound, ascending; the last bound is +Inf. */
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>;
  readonly sum: number;
  readonly count: number;
}

/** The histogram `name` (summed over any other labels). */
export function histogramOf(samples: readonly PromSample[], name: string): Histogram {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels['le']);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
  return { buckets, sum: sumOf(samples, `${name}_sum`), count: sumOf(samples, `${name}_count`) };
}

/** after - before, bucket by bucket (the observations made between two scrapes). */
export function diffHistogram(after: Histogram, before: Histogram): Histogram {
  const prev = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** Adds histograms with the same buckets (pooling the rounds of one scenario). */
export function addHistograms(a: Histogram, b: Histogram): Histogram {
  const other = new Map(b.buckets.map((x) => [x.le, x.count]));
  const les = new Set([...a.buckets.map((x) => x.le), ...b.buckets.map((x) => x.le)]);
  const mine = new Map(a.buckets.map((x) => [x.le, x.count]));
  return {
    buckets: [...les].sort((x, y) => x - y).map((le) => ({ le, count: (mine.get(le) ?? 0) + (other.get(le) ?? 0) })),
    sum: a.sum + b.sum,
    count: a.count + b.count,
  };
}

export const EMPTY_HISTOGRAM: Histogram = { buckets: [], sum: 0, count: 0 };

/**
 * Prometheus histogram_quantile: find the bucket holding rank q*count and interpolate linearly inside it (the
 * first bucket starts at 0). A rank in the +Inf bucket returns the highest finite bound, as Prometheus does.
 * NaN when the histogram is empty. The answer is only as fine as the buckets: report the bucket bounds with it.
 */
export function histogramQuantile(q: number, h: Histogram): number {
  const total = h.buckets.at(-1)?.count ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (b.le === Number.POSITIVE_INFINITY) return lowerLe;
      if (b.count === lowerCount) return b.le;
      return lowerLe + ((b.le - lowerLe) * (rank - lowerCount)) / (b.count - lowerCount);
    }
    lowerLe = b.le;
    lowerCount = b.count;
  }
  return lowerLe;
}

/** The bucket bounds around a value, for honest reporting of a quantile's resolution ("0.25-0.5 s"). */
export function bucketAround(value: number, h: Histogram): string {
  let lower = 0;
  for (const b of h.buckets) {
    if (value <= b.le) return `${lower}-${b.le === Number.POSITIVE_INFINITY ? '+Inf' : b.le}`;
    lower = b.le;
  }
  return `>${lower}`;
}
