// Measures: many small files in one session — BENCH_SMALL_FILES (default 200) files of BENCH_SMALL_KIB (default 4)
// KiB put by one OpenSSH `sftp` batch — for sftp-pod, rclone (both into the same MinIO) and OpenSSH (local disk), A/B/C
// interleaved over BENCH_ROUNDS (default 3): wall time, server CPU-milliseconds per file, S3 requests per file counted
// by MinIO itself (its request metrics), and each server's idle RSS; checks the efficiency targets (docs/benchmarks.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGet, type Minio, makeTempDir, removeTempDir, startMinio } from '../infra/index.ts';
import { makeRandomFile, runSftp } from './lib/client.ts';
import { treeCpu, treeRssBytes } from './lib/procfs.ts';
import { parseProm } from './lib/prom.ts';
import {
  type BenchServer,
  makeClientKey,
  type PodSettings,
  SERVER_NAMES,
  type ServerName,
  startServer,
} from './lib/servers.ts';

const MiB = 2 ** 20;
const env = process.env;
const count = Number(env['BENCH_SMALL_FILES'] ?? 200);
const size = Number(env['BENCH_SMALL_KIB'] ?? 4) * 1024;
const rounds = Number(env['BENCH_ROUNDS'] ?? 3);
const BUCKET = 'bench-small';
const METRICS_CACHE_MS = 11_000;
const podSettings: PodSettings = { partSize: 8 * MiB, uploadConcurrency: 4, memoryBudget: 256 * MiB };
const repo = new URL('../../', import.meta.url).pathname;

interface Sample {
  readonly server: ServerName;
  readonly seconds: number;
  readonly cpuMsPerFile: number;
  readonly s3RequestsPerFile: number | null;
  readonly s3ByApi: Record<string, number>;
}

/**
 * MinIO's own count of S3 requests by API (`minio_s3_requests_total`, metrics made public for the test bed). MinIO
 * refreshes these figures about every 10 s, so each reading first waits out that cache.
 */
async function minioRequests(minio: Minio): Promise<Record<string, number>> {
  await sleep(METRICS_CACHE_MS);
  const res = await httpGet(`${minio.endpoint}/minio/v2/metrics/cluster`);
  if (res.status !== 200) throw new Error(`MinIO metrics answered ${res.status}`);
  const byApi: Record<string, number> = {};
  for (const s of parseProm(res.body)) {
    if (s.name !== 'minio_s3_requests_total') continue;
    const api = s.labels['api'] ?? '?';
    byApi[api] = (byApi[api] ?? 0) + s.value;
  }
  return byApi;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : ((s[(s.length - 1) >> 1] as number) + (s[s.length >> 1] as number)) / 2;
};
const fmt = (x: number | null, d = 2) => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));

async function main(): Promise<void> {
  const dir = makeTempDir('bench-small');
  const servers: BenchServer[] = [];
  let minio: Minio | undefined;
  const samples: Sample[] = [];
  const idleRss = new Map<ServerName, number>();
  try {
    const key = makeClientKey(dir);
    const src = join(dir, 'src');
    mkdirSync(src);
    const names = Array.from({ length: count }, (_, i) => `f${String(i).padStart(4, '0')}.bin`);
    for (const n of names) await makeRandomFile(join(src, n), size);
    minio = await startMinio();
    await minio.createBucket(BUCKET);
    for (const name of SERVER_NAMES) {
      const server = await startServer(name, key, minio, BUCKET, podSettings);
      servers.push(server);
      await sleep(2000);
      idleRss.set(name, treeRssBytes(server.pid));
    }
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? servers : [...servers].reverse();
      for (const server of order) {
        await server.clear();
        const commands = [`lcd ${src}`, `cd ${server.remoteDir}`, ...names.map((n) => `put ${n}`)];
        const usesS3 = server.name !== 'openssh';
        const before = usesS3 ? await minioRequests(minio) : {};
        const cpu0 = treeCpu(server.pid);
        const t0 = performance.now();
        await runSftp(server, key, commands, AbortSignal.timeout(600_000));
        const seconds = (performance.now() - t0) / 1000;
        const cpu1 = treeCpu(server.pid);
        const s3ByApi = usesS3 ? diff(await minioRequests(minio), before) : {};
        const total = Object.values(s3ByApi).reduce((a, b) => a + b, 0);
        const sample: Sample = {
          server: server.name,
          seconds,
          cpuMsPerFile: ((cpu1.user + cpu1.system - cpu0.user - cpu0.system) * 1000) / count,
          s3RequestsPerFile: usesS3 ? total / count : null,
          s3ByApi,
        };
        samples.push(sample);
        console.log(
          `round ${round} ${server.name.padEnd(9)} ${fmt(seconds)} s, ${fmt(sample.cpuMsPerFile)} CPU-ms/file, ` +
            `S3 requests/file ${fmt(sample.s3RequestsPerFile, 1)} ${JSON.stringify(s3ByApi)}`,
        );
      }
    }
    const rows = SERVER_NAMES.map((name) => {
      const xs = samples.filter((s) => s.server === name);
      return {
        name,
        seconds: median(xs.map((s) => s.seconds)),
        cpuMsPerFile: median(xs.map((s) => s.cpuMsPerFile)),
        s3: name === 'openssh' ? null : median(xs.map((s) => s.s3RequestsPerFile ?? 0)),
        idleRssMiB: (idleRss.get(name) ?? 0) / MiB,
        byApi: xs.at(-1)?.s3ByApi ?? {},
      };
    });
    const pod = rows.find((r) => r.name === 'sftp-pod');
    const rclone = rows.find((r) => r.name === 'rclone');
    const timeRatio = pod && rclone ? pod.seconds / rclone.seconds : Number.NaN;
    const md = [
      `Small files: ${count} x ${size / 1024} KiB in one OpenSSH sftp session, ${rounds} interleaved rounds, medians.`,
      '',
      '| server | wall s | server CPU-ms per file | S3 requests per file (MinIO count) | idle RSS MiB | S3 calls by API (last round) |',
      '|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.name} | ${fmt(r.seconds)} | ${fmt(r.cpuMsPerFile)} | ${fmt(r.s3, 1)} | ${fmt(r.idleRssMiB, 0)} | ${Object.entries(
            r.byApi,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')} |`,
      ),
      '',
      `Targets: sftp-pod S3 requests per file <= 2: ${fmt(pod?.s3 ?? null, 1)} (${(pod?.s3 ?? 99) <= 2 ? 'met' : 'MISSED'}); ` +
        `wall time <= 1.4x rclone's: ${fmt(timeRatio)}x (${timeRatio <= 1.4 ? 'met' : 'MISSED'}); ` +
        `idle RSS <= 64 MiB: ${fmt(pod?.idleRssMiB ?? null, 0)} MiB (${(pod?.idleRssMiB ?? 999) <= 64 ? 'met' : 'MISSED'}).`,
    ].join('\n');
    const out = join(repo, '.bench');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'sftp-small-files.md'), `${md}\n`);
    writeFileSync(join(out, 'sftp-small-files.json'), `${JSON.stringify({ rows, samples }, null, 2)}\n`);
    console.log(`\n${md}\n\n(written to .bench/sftp-small-files.{md,json})`);
  } finally {
    for (const s of servers) await s.stop().catch(() => {});
    await minio?.stop().catch(() => {});
    removeTempDir(dir);
  }
}

await main();
