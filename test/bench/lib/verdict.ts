// Issue 13's "Done when" list as data, and the verdict of one run against it. The ratio targets are SFTPGo's figures
// relative to rclone in the reference run, so meeting them against rclone here means beating SFTPGo.

export type TargetId =
  | 'uploadCpu'
  | 'downloadCpu'
  | 'uploadSpeed'
  | 'downloadSpeed'
  | 'smallRequests'
  | 'smallWall'
  | 'idleRss'
  | 'peakRss';

export interface Target {
  readonly id: TargetId;
  readonly what: string;
  /** `ratio`: sftp-pod ÷ rclone, paired per round; `absolute`: sftp-pod's own figure. */
  readonly kind: 'ratio' | 'absolute';
  readonly op: '<=' | '>=';
  readonly limit: number;
  /** Unit of the servers' own figures (and of an absolute target). */
  readonly unit: string;
}

export const TARGETS: readonly Target[] = [
  { id: 'uploadCpu', what: '1 GiB upload: server CPU', kind: 'ratio', op: '<=', limit: 0.53, unit: 'CPU-s/GiB' },
  { id: 'downloadCpu', what: '1 GiB download: server CPU', kind: 'ratio', op: '<=', limit: 1.1, unit: 'CPU-s/GiB' },
  { id: 'uploadSpeed', what: '1 GiB upload: speed', kind: 'ratio', op: '>=', limit: 1.46, unit: 'MB/s' },
  { id: 'downloadSpeed', what: '1 GiB download: speed', kind: 'ratio', op: '>=', limit: 0.9, unit: 'MB/s' },
  {
    id: 'smallRequests',
    what: '200 x 4 KiB: S3 requests per file (MinIO count)',
    kind: 'absolute',
    op: '<=',
    limit: 2,
    unit: 'requests',
  },
  { id: 'smallWall', what: '200 x 4 KiB: wall time', kind: 'ratio', op: '<=', limit: 1.4, unit: 's' },
  { id: 'idleRss', what: 'idle RSS after start and one login', kind: 'absolute', op: '<=', limit: 64, unit: 'MiB' },
  { id: 'peakRss', what: 'peak RSS during a 1 GiB upload', kind: 'absolute', op: '<=', limit: 160, unit: 'MiB' },
];

/** One target's figures from a run: medians over rounds; `ratio` is the median of per-round ratios. */
export interface Measured {
  readonly pod: number;
  readonly rclone?: number;
  readonly ratio?: number;
}

export interface VerdictRow {
  readonly target: Target;
  readonly measured: Measured | undefined;
  /** The figure compared with the limit: the ratio or the pod's own value. NaN when not measured. */
  readonly value: number;
  /** null: not measured in this run. */
  readonly met: boolean | null;
}

export function verdict(measured: Partial<Record<TargetId, Measured>>): VerdictRow[] {
  return TARGETS.map((target) => {
    const m = measured[target.id];
    const value = m === undefined ? Number.NaN : target.kind === 'ratio' ? (m.ratio ?? Number.NaN) : m.pod;
    const met = !Number.isFinite(value) ? null : target.op === '<=' ? value <= target.limit : value >= target.limit;
    return { target, measured: m, value, met };
  });
}

const fmt = (x: number | undefined, digits = 2) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));

export interface VerdictContext {
  /** ISO time the run started. */
  readonly startedAt: string;
  /** The commit measured (with a note when the pod's sources had uncommitted changes). */
  readonly tree: string;
  /** Load averages (1/5/15 min) sampled through the run. */
  readonly load: ReadonlyArray<readonly number[]>;
  /** One line on how the run was made (sizes, rounds, TLS, client). */
  readonly setup: string;
}

/** The verdict as a markdown block, ready to paste into docs/benchmarks.md. */
export function renderVerdict(rows: readonly VerdictRow[], ctx: VerdictContext): string {
  const loads = ctx.load.map((l) => l[0] ?? Number.NaN);
  const met = rows.filter((r) => r.met === true).length;
  return [
    `##### Verdict (issue 13): sftp-pod against rclone — ${met} of ${rows.length} targets met`,
    '',
    `Run started ${ctx.startedAt}, commit \`${ctx.tree}\`. ${ctx.setup} Load average (1 min) through the run: ` +
      `${fmt(Math.min(...loads), 1)}-${fmt(Math.max(...loads), 1)} ` +
      `(${ctx.load.map((l) => l.map((x) => x.toFixed(1)).join('/')).join(' → ')}).`,
    '',
    '| target | goal | sftp-pod | rclone | measured | verdict |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const t = r.target;
      const digits = t.unit === 'MiB' || t.unit === 'MB/s' ? 0 : 2;
      const goal = t.kind === 'ratio' ? `${t.op} ${t.limit}x rclone` : `${t.op} ${t.limit} ${t.unit}`;
      const value = t.kind === 'ratio' ? `${fmt(r.value, 3)}x` : `${fmt(r.value, digits)} ${t.unit}`;
      const verdictText = r.met === null ? 'not measured' : r.met ? 'met' : '**missed**';
      return (
        `| ${t.what} | ${goal} | ${fmt(r.measured?.pod, digits)} ${t.unit} | ${fmt(r.measured?.rclone, digits)} | ` +
        `${value} | ${verdictText} |`
      );
    }),
  ].join('\n');
}
