// One measured transfer: `streams` OpenSSH `sftp` clients at once, each putting or getting one file, against one
// server. Reads the server's CPU (its process tree, /proc), its peak RSS (polled), the client's and MinIO's CPU, and for
// sftp-pod its own /metrics diffed around the transfer.
import { rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGet } from '../../infra/index.ts';
import { runSftp } from './client.ts';
import { pollPeakRss, reapedChildrenCpuSeconds, treeCpu } from './procfs.ts';
import { diffHistogram, histogramOf, type PromSample, parseProm, sumBy, sumOf } from './prom.ts';
import type { BenchServer, ClientKey, ServerName } from './servers.ts';
import { diffCounts } from './stats.ts';

const GiB = 2 ** 30;

export interface Scenario {
  readonly id: string;
  readonly direction: 'upload' | 'download';
  /** Local source files, one per concurrent client; together they hold the transfer's bytes. */
  readonly sources: readonly string[];
}

/** From the pod's own metrics, diffed around the transfer. */
export interface PodInternals {
  readonly s3Requests: Readonly<Record<string, number>>;
  /** Calls answered with an error, by operation (a HeadObject 404 for a new file counts here too). */
  readonly s3Errors: Readonly<Record<string, number>>;
  /** Sum and count of `sftpgate_upload_finalize_lag_seconds`: CLOSE to the object being committed. */
  readonly finalizeLag: { readonly sum: number; readonly count: number };
  readonly partUpload: { readonly sum: number; readonly count: number };
  readonly backpressurePauses: number;
  /** Highest `sftpgate_upload_buffered_bytes` polled every 500 ms: the pod's own accounting of held data. */
  readonly peakBufferedBytes: number;
}

export interface TransferSample {
  readonly round: number;
  readonly server: ServerName;
  readonly scenario: string;
  readonly files: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly mbPerSecond: number;
  readonly cpuSecondsPerGiB: number;
  /** The kernel's share of the above (socket and pipe copies, the file system for OpenSSH). */
  readonly systemCpuSecondsPerGiB: number;
  readonly minioCpuSecondsPerGiB: number | null;
  /** The `sftp` processes and the `ssh` each runs (reaped children of this process). */
  readonly clientCpuSecondsPerGiB: number;
  /** The server's whole VmRSS (its tree), highest seen while the transfer ran (polled every 100 ms). */
  readonly peakRssBytes: number;
  readonly pod?: PodInternals;
}

export interface TransferContext {
  readonly key: ClientKey;
  readonly downloads: string;
  readonly minioPid: number | undefined;
}

const BUFFERED = 'sftpgate_upload_buffered_bytes';

async function scrape(url: string): Promise<PromSample[]> {
  const r = await httpGet(url, { signal: AbortSignal.timeout(10_000) });
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status}`);
  return parseProm(r.body);
}

/** Polls one gauge until stop(), which resolves to the highest value seen (0 if never read). */
function pollPeakGauge(url: string, name: string): { stop(): Promise<number> } {
  let peak = 0;
  let pending: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    pending = scrape(url).then(
      (s) => {
        peak = Math.max(peak, sumOf(s, name));
      },
      () => {},
    );
  }, 500);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      return peak;
    },
  };
}

function podInternals(after: PromSample[], before: PromSample[], peakBufferedBytes: number): PodInternals {
  const hist = (name: string) => {
    const h = diffHistogram(histogramOf(after, name), histogramOf(before, name));
    return { sum: h.sum, count: h.count };
  };
  const errors = (s: PromSample[]) => sumBy(s, 'sftpgate_s3_requests_total', 'operation', { result: 'error' });
  const requests = (s: PromSample[]) => sumBy(s, 'sftpgate_s3_requests_total', 'operation');
  const pauses = (s: PromSample[]) => sumOf(s, 'sftpgate_backpressure_pauses_total');
  return {
    s3Requests: diffCounts(requests(after), requests(before)),
    s3Errors: diffCounts(errors(after), errors(before)),
    finalizeLag: hist('sftpgate_upload_finalize_lag_seconds'),
    partUpload: hist('sftpgate_upload_part_duration_seconds'),
    backpressurePauses: pauses(after) - pauses(before),
    peakBufferedBytes,
  };
}

/** The remote path of a source file on `server`. */
export function remotePath(server: BenchServer, source: string): string {
  return `${server.remoteDir.replace(/\/$/, '')}/${basename(source)}`;
}

/** Where a download of `source` from `server` lands locally. */
export function downloadPath(ctx: TransferContext, server: BenchServer, source: string): string {
  return join(ctx.downloads, `${server.name}-${basename(source)}`);
}

export async function measureTransfer(
  server: BenchServer,
  scenario: Scenario,
  round: number,
  ctx: TransferContext,
): Promise<TransferSample> {
  const { sources } = scenario;
  const upload = scenario.direction === 'upload';
  // Preparation stays outside the measured window: uploads start from an empty target, downloads from no local file.
  if (upload) await server.clear();
  else for (const src of sources) rmSync(downloadPath(ctx, server, src), { force: true });
  const bytes = sources.reduce((n, s) => n + statSync(s).size, 0);
  const metricsBefore = server.metricsUrl ? await scrape(server.metricsUrl) : undefined;
  const cpuBefore = treeCpu(server.pid);
  const clientBefore = reapedChildrenCpuSeconds();
  const minioBefore = ctx.minioPid === undefined ? undefined : treeCpu(ctx.minioPid);
  const rss = pollPeakRss(server.pid);
  const buffered = server.metricsUrl ? pollPeakGauge(server.metricsUrl, BUFFERED) : undefined;
  // One failed client stops its siblings, so no transfer runs on into the next measurement.
  const failed = new AbortController();
  const signal = AbortSignal.any([failed.signal, AbortSignal.timeout(30 * 60_000)]);
  const started = process.hrtime.bigint();
  let ended = started;
  let peakRssBytes = 0;
  let peakBufferedBytes = 0;
  let firstError: unknown;
  try {
    const results = await Promise.allSettled(
      sources.map((src) =>
        runSftp(
          server,
          ctx.key,
          [
            upload
              ? `put ${src} ${remotePath(server, src)}`
              : `get ${remotePath(server, src)} ${downloadPath(ctx, server, src)}`,
          ],
          signal,
        ).catch((err: unknown) => {
          // Recorded before the abort, so the siblings' "aborted" errors never hide the cause.
          firstError ??= err;
          failed.abort();
          throw err;
        }),
      ),
    );
    ended = process.hrtime.bigint();
    if (results.some((r) => r.status === 'rejected')) throw firstError;
  } finally {
    peakRssBytes = rss.stop();
    peakBufferedBytes = (await buffered?.stop()) ?? 0;
  }
  const seconds = Number(ended - started) / 1e9;
  // Let per-connection processes (sshd) exit and be reaped, so their CPU time is in the tree's total.
  await sleep(300);
  const cpuAfter = treeCpu(server.pid);
  const minioAfter = ctx.minioPid === undefined ? undefined : treeCpu(ctx.minioPid);
  const clientCpu = reapedChildrenCpuSeconds() - clientBefore;
  const minioCpu =
    minioAfter && minioBefore ? minioAfter.user + minioAfter.system - minioBefore.user - minioBefore.system : 0;
  const gib = bytes / GiB;
  const pod =
    server.metricsUrl && metricsBefore
      ? podInternals(await scrape(server.metricsUrl), metricsBefore, peakBufferedBytes)
      : undefined;
  return {
    round,
    server: server.name,
    scenario: scenario.id,
    files: sources.length,
    bytes,
    seconds,
    mbPerSecond: bytes / 1e6 / seconds,
    cpuSecondsPerGiB: (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / gib,
    systemCpuSecondsPerGiB: (cpuAfter.system - cpuBefore.system) / gib,
    minioCpuSecondsPerGiB: server.name !== 'openssh' && ctx.minioPid !== undefined ? minioCpu / gib : null,
    clientCpuSecondsPerGiB: clientCpu / gib,
    peakRssBytes,
    ...(pod ? { pod } : {}),
  };
}
