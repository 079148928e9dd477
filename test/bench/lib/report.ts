// Turns one interleaved run's samples into figures (medians over rounds, per-round ratios to rclone) and markdown.
// Pure: everything measured comes in, text and the verdict's inputs come out.
import type { PutPreserveSample } from './put-preserve.ts';
import type { ServerName } from './servers.ts';
import type { SmallFilesSample } from './small-files.ts';
import { median, pairedRatio, total } from './stats.ts';
import type { TransferSample } from './transfer.ts';
import type { Measured, TargetId } from './verdict.ts';

const MiB = 2 ** 20;

export interface RunResults {
  readonly servers: readonly ServerName[];
  readonly transfers: readonly TransferSample[];
  readonly small: readonly SmallFilesSample[];
  /** VmRSS of each server's process tree after start and one login. */
  readonly idleRssBytes: Readonly<Partial<Record<ServerName, number>>>;
  readonly putPreserve: readonly PutPreserveSample[];
  /** S3 requests of a small-files session without its puts (login, `cd`), per S3 server. */
  readonly sessionRequests?: Readonly<Partial<Record<ServerName, number>>>;
}

const fmt = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);

function transfersOf(r: RunResults, server: ServerName, scenario: string): TransferSample[] {
  return r.transfers.filter((s) => s.server === server && s.scenario === scenario);
}

/** A ratio target: the pod's and rclone's medians, and the median of the per-round ratios. */
function ratioTarget<S extends { round: number }>(pod: S[], rclone: S[], metric: (s: S) => number): Measured {
  return {
    pod: median(pod.map(metric)),
    rclone: median(rclone.map(metric)),
    ratio: pairedRatio(pod, rclone, metric),
  };
}

/** The verdict's inputs (lib/verdict.ts) from a run; targets whose scenario did not run are left out. */
export function measuredFromRun(r: RunResults): Partial<Record<TargetId, Measured>> {
  const out: Partial<Record<TargetId, Measured>> = {};
  const up = ['sftp-pod', 'rclone'].map((s) => transfersOf(r, s as ServerName, 'upload x1')) as [
    TransferSample[],
    TransferSample[],
  ];
  const down = ['sftp-pod', 'rclone'].map((s) => transfersOf(r, s as ServerName, 'download x1')) as [
    TransferSample[],
    TransferSample[],
  ];
  const cpu = (s: TransferSample) => s.cpuSecondsPerGiB;
  const speed = (s: TransferSample) => s.mbPerSecond;
  if (up[0].length > 0) {
    out.uploadCpu = ratioTarget(up[0], up[1], cpu);
    out.uploadSpeed = ratioTarget(up[0], up[1], speed);
    out.peakRss = {
      pod: median(up[0].map((s) => s.peakRssBytes)) / MiB,
      rclone: median(up[1].map((s) => s.peakRssBytes)) / MiB,
    };
  }
  if (down[0].length > 0) {
    out.downloadCpu = ratioTarget(down[0], down[1], cpu);
    out.downloadSpeed = ratioTarget(down[0], down[1], speed);
  }
  const smallPod = r.small.filter((s) => s.server === 'sftp-pod');
  if (smallPod.length > 0) {
    const requests = (server: ServerName) =>
      median(r.small.filter((s) => s.server === server).map((s) => s.s3RequestsPerFile ?? Number.NaN));
    out.smallRequests = { pod: requests('sftp-pod'), rclone: requests('rclone') };
    out.smallWall = ratioTarget(
      smallPod,
      r.small.filter((s) => s.server === 'rclone'),
      (s) => s.seconds,
    );
  }
  const idle = r.idleRssBytes['sftp-pod'];
  if (idle !== undefined) out.idleRss = { pod: idle / MiB, rclone: (r.idleRssBytes.rclone ?? Number.NaN) / MiB };
  return out;
}

function apiList(counts: Readonly<Record<string, number>>, per = 1): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${fmt(v / per, per === 1 ? 0 : 2)}`)
    .join(', ');
}

export function renderTransfers(r: RunResults, scenarios: readonly string[]): string {
  const rows = scenarios.flatMap((scenario) =>
    r.servers.map((server) => {
      const xs = transfersOf(r, server, scenario);
      const mb = xs.map((s) => s.mbPerSecond);
      const med = (f: (s: TransferSample) => number) => median(xs.map(f));
      const minio = xs.some((s) => s.minioCpuSecondsPerGiB !== null)
        ? fmt(med((s) => s.minioCpuSecondsPerGiB ?? Number.NaN))
        : '—';
      return (
        `| ${scenario} | ${server} | ${fmt(median(mb), 0)} (${fmt(Math.min(...mb), 0)}-${fmt(Math.max(...mb), 0)}) | ` +
        `${fmt(med((s) => s.cpuSecondsPerGiB))} (${fmt(med((s) => s.systemCpuSecondsPerGiB))}) | ${minio} | ` +
        `${fmt(med((s) => s.clientCpuSecondsPerGiB))} | ${fmt(med((s) => s.peakRssBytes) / MiB, 0)} |`
      );
    }),
  );
  return [
    '| scenario | server | MB/s median (min-max) | server CPU-s/GiB (of which kernel) | MinIO CPU-s/GiB | client CPU-s/GiB | peak RSS MiB (median) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

export function renderSmallFiles(r: RunResults, count: number, kib: number): string {
  const rows = r.servers.map((server) => {
    const xs = r.small.filter((s) => s.server === server);
    const s3 = xs.map((s) => s.s3RequestsPerFile).filter((x): x is number => x !== null);
    const last = xs.at(-1)?.s3ByApi ?? {};
    return (
      `| ${server} | ${fmt(median(xs.map((s) => s.seconds)))} | ${fmt(median(xs.map((s) => s.cpuMsPerFile)))} | ` +
      `${s3.length > 0 ? fmt(median(s3)) : '—'} | ${apiList(last, count)} | ${fmt((r.idleRssBytes[server] ?? Number.NaN) / MiB, 0)} |`
    );
  });
  const session = Object.entries(r.sessionRequests ?? {})
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `${count} files of ${kib} KiB put by one \`sftp\` session; S3 requests as MinIO counted them. Per file = (the ` +
      `session's requests − those of the same session without puts${session ? `: ${session}` : ''}) ÷ ${count}; by API: ` +
      'the last round, session included.',
    '',
    '| server | wall s | server CPU-ms per file | S3 requests per file | S3 requests per file by API | idle RSS MiB (after start and one login) |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

export function renderPutPreserve(r: RunResults): string {
  if (r.putPreserve.length === 0) return '';
  return [
    '`put -p` (data, then SETSTAT with the times) of one file; MinIO counts requests, bytes received and bytes written.',
    '',
    '| server | file MiB | s | S3 requests | by API | received MiB | written by MinIO MiB | written ÷ file |',
    '|---|---|---|---|---|---|---|---|',
    ...r.putPreserve.map(
      (p) =>
        `| ${p.server} | ${fmt(p.fileBytes / MiB, 0)} | ${fmt(p.seconds, 1)} | ${total(p.minio.requestsByApi)} | ` +
        `${apiList(p.minio.requestsByApi)} | ${fmt(p.minio.receivedBytes / MiB, 0)} | ${fmt(p.minio.writtenBytes / MiB, 0)} | ` +
        `${fmt(p.minio.writtenBytes / p.fileBytes)} |`,
    ),
  ].join('\n');
}

/** The pod's own view of its transfers (its /metrics), pooled over rounds: what explains its figures. */
export function renderPodInternals(r: RunResults, scenarios: readonly string[]): string {
  const rows = scenarios.flatMap((scenario) => {
    const xs = transfersOf(r, 'sftp-pod', scenario).filter((s) => s.pod);
    if (xs.length === 0) return [];
    const files = xs.reduce((n, s) => n + s.files, 0);
    const sum = (f: (s: TransferSample) => Readonly<Record<string, number>>) => {
      const out: Record<string, number> = {};
      for (const s of xs) for (const [k, v] of Object.entries(f(s))) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    const lag = xs.reduce(
      (a, s) => ({ sum: a.sum + (s.pod?.finalizeLag.sum ?? 0), n: a.n + (s.pod?.finalizeLag.count ?? 0) }),
      { sum: 0, n: 0 },
    );
    const part = xs.reduce(
      (a, s) => ({ sum: a.sum + (s.pod?.partUpload.sum ?? 0), n: a.n + (s.pod?.partUpload.count ?? 0) }),
      { sum: 0, n: 0 },
    );
    const requests = sum((s) => s.pod?.s3Requests ?? {});
    return [
      `| ${scenario} | ${fmt(total(requests) / files, 1)} (${apiList(requests, files)}) | ${
        apiList(
          sum((s) => s.pod?.s3Errors ?? {}),
          files,
        ) || '0'
      } | ` +
        `${lag.n > 0 ? fmt(lag.sum / lag.n, 3) : '—'} | ${part.n > 0 ? fmt(part.sum / part.n, 3) : '—'} | ` +
        `${xs.reduce((n, s) => n + (s.pod?.backpressurePauses ?? 0), 0)} | ${fmt(Math.max(...xs.map((s) => s.pod?.peakBufferedBytes ?? 0)) / MiB, 0)} |`,
    ];
  });
  if (rows.length === 0) return '';
  return [
    '| scenario | S3 requests per file (by operation) | S3 error answers per file | mean finalize lag s | mean part upload s | backpressure pauses | peak buffered MiB (own gauge) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
