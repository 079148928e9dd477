// Small files only (issue 13: 200 x 4 KiB put by one OpenSSH `sftp` session, wall <= 1.4x rclone), interleaved and
// cheap enough to repeat: every server in rotated order per round, wall time, server CPU-ms and MinIO CPU-ms per file,
// and for each pod the mean S3 request time by operation from its own /metrics. Without MinIO's request counters
// (their 11 s cache would dominate the run): `make bench` counts S3 requests per file.
// Env: BENCH_ROUNDS (5), BENCH_SMALL_FILES (200), BENCH_SMALL_KIB (4), BENCH_TLS (1), BENCH_CPU_PROF,
// BENCH_POD_NODE_ARGS, SMALL_PODS (`label=/path/to/main.js,...`: compiled pod builds to compare side by side, A/B;
// default the work tree's `make build`), SMALL_RCLONE (1).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { type Minio, makeTempDir, removeTempDir, startMinio } from '../infra/index.ts';
import { benchConfig } from './lib/bench-config.ts';
import { runSftp } from './lib/client.ts';
import { entrypointNodeFlags, podLaunch, stageEnv } from './lib/pod-launch.ts';
import { findPid, treeCpu } from './lib/procfs.ts';
import { parseProm, sumBy } from './lib/prom.ts';
import { type BenchServer, makeClientKey, startPod, startRclone } from './lib/servers.ts';
import { makeSmallFiles, measureSmallFiles } from './lib/small-files.ts';
import { median, rotation } from './lib/stats.ts';

const BUCKET = 'bench';
const repo = new URL('../../', import.meta.url).pathname;
const cfg = benchConfig({ BENCH_ROUNDS: '5', ...process.env });
const fixture = new URL('./fixtures/compiled-pod.js', import.meta.url).pathname;

interface Labelled {
  readonly label: string;
  readonly server: BenchServer;
}

interface Row {
  readonly label: string;
  readonly round: number;
  readonly seconds: number;
  readonly cpuMsPerFile: number;
  readonly minioCpuMsPerFile: number;
  /** Mean ms per S3 request by operation (pods only). */
  readonly s3Ms: Readonly<Record<string, number>>;
}

function pods(): { label: string; entry?: string }[] {
  const spec = process.env['SMALL_PODS'];
  if (!spec) return [{ label: 'sftp-pod' }];
  return spec.split(',').map((item) => {
    const [label, entry] = item.split('=');
    if (!label || !entry) throw new Error(`SMALL_PODS: expected label=/path/main.js, got ${JSON.stringify(item)}`);
    return { label, entry };
  });
}

interface PodCounters {
  readonly sum: Record<string, number>;
  readonly count: Record<string, number>;
  readonly sftp: Record<string, number>;
}

async function podCounters(server: BenchServer): Promise<PodCounters> {
  if (!server.metricsUrl) return { sum: {}, count: {}, sftp: {} };
  const samples = parseProm(await (await fetch(server.metricsUrl)).text());
  return {
    sum: sumBy(samples, 'sftpgate_s3_request_duration_seconds_sum', 'operation'),
    count: sumBy(samples, 'sftpgate_s3_request_duration_seconds_count', 'operation'),
    sftp: sumBy(samples, 'sftpgate_sftp_requests_total', 'op'),
  };
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');

async function main(): Promise<void> {
  const dir = makeTempDir('bench-small');
  const servers: Labelled[] = [];
  let minio: Minio | undefined;
  const rows: Row[] = [];
  const loads: string[] = [
    loadavg()
      .map((l) => l.toFixed(1))
      .join('/'),
  ];
  try {
    const key = makeClientKey(dir);
    const set = await makeSmallFiles(dir, cfg.smallFiles, cfg.smallKib * 1024);
    minio = await startMinio({ tls: cfg.tls });
    await minio.createBucket(BUCKET);
    const minioPid = findPid(minio.dataDir);
    for (const [i, p] of pods().entries()) {
      // A build given by path is taken as it is (no staleness check against the work tree's sources).
      const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
      const flags = entrypointNodeFlags(dockerfile, 'sftp');
      const launch = p.entry
        ? {
            command: process.execPath,
            args: [...flags, fixture, p.entry],
            env: stageEnv(dockerfile, 'sftp'),
            describe: p.entry,
          }
        : podLaunch();
      const cpuProfileDir = cfg.cpuProfile ? join(repo, '.bench', `small-${p.label}-cpuprofile`) : undefined;
      const server = await startPod(key, minio, BUCKET, `pod${i}`, {
        launch,
        nodeArgs: cfg.podNodeArgs,
        ...(cpuProfileDir ? { cpuProfileDir } : {}),
      });
      servers.push({ label: p.label, server });
    }
    if (process.env['SMALL_RCLONE'] !== '0') {
      servers.push({ label: 'rclone', server: await startRclone(key, minio, BUCKET, 'rclone') });
    }
    for (const { server } of servers) await runSftp(server, key, ['pwd'], AbortSignal.timeout(60_000));
    for (let round = 1; round <= cfg.rounds; round++) {
      for (const { label, server } of rotation(servers, round)) {
        const t0 = await podCounters(server);
        const m0 = minioPid === undefined ? undefined : treeCpu(minioPid);
        const s = await measureSmallFiles(server, key, set, round, undefined);
        const m1 = minioPid === undefined ? undefined : treeCpu(minioPid);
        const t1 = await podCounters(server);
        const s3Ms: Record<string, number> = {};
        for (const [op, sum] of Object.entries(t1.sum)) {
          const n = (t1.count[op] ?? 0) - (t0.count[op] ?? 0);
          if (n > 0) s3Ms[op] = ((sum - (t0.sum[op] ?? 0)) * 1000) / n;
        }
        const sftp = Object.entries(t1.sftp)
          .map(([op, n]) => [op, (n - (t0.sftp[op] ?? 0)) / set.names.length] as const)
          .filter(([, n]) => n > 0);
        const minioCpu = m0 && m1 ? (m1.user + m1.system - m0.user - m0.system) * 1000 : Number.NaN;
        const row = {
          label,
          round,
          seconds: s.seconds,
          cpuMsPerFile: s.cpuMsPerFile,
          minioCpuMsPerFile: minioCpu / set.names.length,
          s3Ms,
        };
        rows.push(row);
        const times = Object.entries(s3Ms)
          .map(([op, ms]) => `${op} ${fmt(ms, 1)} ms`)
          .join(', ');
        console.log(
          `round ${round} ${label.padEnd(10)} ${fmt(s.seconds)} s, ${fmt(s.cpuMsPerFile)} CPU-ms/file, MinIO ` +
            `${fmt(row.minioCpuMsPerFile)} CPU-ms/file${times ? `; ${times}` : ''}`,
        );
        if (round === 1 && sftp.length > 0) {
          console.log(`  SFTP requests per file: ${sftp.map(([op, n]) => `${op} ${fmt(n)}`).join(', ')}`);
        }
      }
      loads.push(
        loadavg()
          .map((l) => l.toFixed(1))
          .join('/'),
      );
    }
    console.log(`\nload average (1/5/15 min) at start and after each round: ${loads.join(' → ')}`);
    console.log('| server | wall s median (per round) | server CPU-ms/file median | MinIO CPU-ms/file median |');
    console.log('|---|---|---|---|');
    for (const { label } of servers) {
      const mine = rows.filter((r) => r.label === label);
      console.log(
        `| ${label} | ${fmt(median(mine.map((r) => r.seconds)))} (${mine.map((r) => fmt(r.seconds)).join(' / ')}) | ` +
          `${fmt(median(mine.map((r) => r.cpuMsPerFile)))} | ${fmt(median(mine.map((r) => r.minioCpuMsPerFile)))} |`,
      );
    }
    const rclone = rows.filter((r) => r.label === 'rclone');
    for (const { label } of servers.filter((s) => s.label !== 'rclone' && rclone.length > 0)) {
      const ratios = rows
        .filter((r) => r.label === label)
        .map((r) => r.seconds / (rclone.find((c) => c.round === r.round)?.seconds ?? Number.NaN));
      console.log(
        `${label} ÷ rclone wall, per round: ${ratios.map((x) => fmt(x)).join(' / ')}; median ${fmt(median(ratios))}`,
      );
    }
  } finally {
    for (const { server } of servers.splice(0)) await server.stop();
    await minio?.stop();
    removeTempDir(dir);
  }
}

await main();
