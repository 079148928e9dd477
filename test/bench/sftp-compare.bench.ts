// Measures issue 13's comparison in ONE interleaved run: sftp-pod (compiled, default settings) against `rclone serve
// sftp` (vfs-cache-mode off) and OpenSSH internal-sftp, one OpenSSH `sftp` client (aes128-gcm), one MinIO (HTTPS by
// default). Per round, servers in rotated order: 1 GiB upload and download (MB/s, server CPU-s/GiB, peak RSS), then
// 200 x 4 KiB in one session (wall, CPU per file, S3 requests per file as MinIO counts them); idle RSS after start
// and one login; `put -p` of 1 GiB (S3 requests, bytes MinIO wrote); then the verdict against the issue's targets.
// Env: BENCH_QUICK=1 (128 MiB), BENCH_SFTP_MIB, BENCH_ROUNDS (3), BENCH_STREAMS (>1 adds N-client scenarios),
// BENCH_SERVERS, BENCH_TLS (1), BENCH_SMALL_FILES (200), BENCH_SMALL_KIB (4), BENCH_PUT_P (1), BENCH_CPU_PROF,
// BENCH_POD_NODE_ARGS.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Minio, makeTempDir, removeTempDir, startMinio } from '../infra/index.ts';
import { benchConfig } from './lib/bench-config.ts';
import { makeRandomFile, runSftp, SFTP_OPTIONS, sha256File } from './lib/client.ts';
import { summariseProfile } from './lib/cpu-profile.ts';
import { findPid, treeRssBytes } from './lib/procfs.ts';
import { measurePutPreserve, type PutPreserveSample } from './lib/put-preserve.ts';
import {
  measuredFromRun,
  type RunResults,
  renderPodInternals,
  renderPutPreserve,
  renderSmallFiles,
  renderTransfers,
} from './lib/report.ts';
import { type BenchServer, makeClientKey, type PodSettings, type ServerName, startServer } from './lib/servers.ts';
import {
  makeSmallFiles,
  measureSmallFiles,
  type SmallFilesSample,
  sessionBaselineRequests,
} from './lib/small-files.ts';
import { rotation } from './lib/stats.ts';
import { downloadPath, measureTransfer, type Scenario, type TransferSample } from './lib/transfer.ts';
import { renderVerdict, verdict } from './lib/verdict.ts';

const MiB = 2 ** 20;
const repo = new URL('../../', import.meta.url).pathname;
const out = join(repo, '.bench');
const cfg = benchConfig(process.env);
const BUCKET = 'bench';
const cpuProfileDir = cfg.cpuProfile ? join(out, 'sftp-pod-cpuprofile') : undefined;
const podSettings: PodSettings = {
  ...(cpuProfileDir ? { cpuProfileDir } : {}),
  nodeArgs: cfg.podNodeArgs,
};

function describeTree(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'sftp-pod', 'common'], {
      cwd: repo,
      encoding: 'utf8',
    });
    return `${head}${dirty.trim() ? ' + uncommitted changes in sftp-pod/ or common/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** Summary of the newest .cpuprofile in `dir` (one per pod process). */
function latestProfile(dir: string): ReturnType<typeof summariseProfile> | undefined {
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(dir, f))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    : [];
  return files[0] ? summariseProfile(files[0]) : undefined;
}

const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const tree = describeTree();
  const load: number[][] = [loadavg()];
  const dir = makeTempDir('bench-sftp');
  const servers: BenchServer[] = [];
  let minio: Minio | undefined;
  const transfers: TransferSample[] = [];
  const small: SmallFilesSample[] = [];
  const putPreserve: PutPreserveSample[] = [];
  const idleRssBytes: Partial<Record<ServerName, number>> = {};
  const sessionRequests: Partial<Record<ServerName, number>> = {};
  const failures: string[] = [];
  const integrity: string[] = [];
  try {
    const key = makeClientKey(dir);
    const srcDir = join(dir, 'src');
    const downloads = join(dir, 'downloads');
    mkdirSync(srcDir);
    mkdirSync(downloads);
    // The single-stream file, and (BENCH_STREAMS > 1) `streams` files of an equal share moving the same total.
    const single = join(srcDir, 'x1-0.bin');
    await makeRandomFile(single, cfg.totalBytes);
    const sourceSha = await sha256File(single);
    const parallel = Array.from({ length: cfg.streams > 1 ? cfg.streams : 0 }, (_, i) =>
      join(srcDir, `x${cfg.streams}-${i}.bin`),
    );
    for (const f of parallel) await makeRandomFile(f, cfg.totalBytes / cfg.streams);
    const scenarios: Scenario[] = [
      { id: 'upload x1', direction: 'upload', sources: [single] },
      { id: 'download x1', direction: 'download', sources: [single] },
      ...(parallel.length > 0
        ? ([
            { id: `upload x${cfg.streams}`, direction: 'upload', sources: parallel },
            { id: `download x${cfg.streams}`, direction: 'download', sources: parallel },
          ] as const)
        : []),
    ];
    const smallSet = await makeSmallFiles(dir, cfg.smallFiles, cfg.smallKib * 1024);

    if (cfg.servers.some((s) => s !== 'openssh')) {
      minio = await startMinio({ tls: cfg.tls });
      await minio.createBucket(BUCKET);
    }
    const minioPid = minio ? findPid(minio.dataDir) : undefined;
    for (const name of cfg.servers) {
      try {
        const server = await startServer(name, key, minio, BUCKET, podSettings);
        servers.push(server);
        // Idle = after start and one login (a first session loads what a session needs), settled for a second.
        await runSftp(server, key, ['pwd'], AbortSignal.timeout(60_000));
        await sleep(1000);
        idleRssBytes[name] = treeRssBytes(server.pid);
        console.log(`${name}: ${server.describe}; idle RSS ${fmt((idleRssBytes[name] ?? 0) / MiB, 0)} MiB`);
      } catch (err) {
        failures.push(`${name}: cannot start: ${String(err)}`);
        console.error(`${name}: cannot start: ${String(err)}`);
      }
    }
    // The session's own S3 requests (login, `cd`), measured once per S3 server and left out of the per-file figure.
    for (const server of servers.filter((s) => s.name !== 'openssh')) {
      if (!minio) break;
      sessionRequests[server.name] = await sessionBaselineRequests(server, key, smallSet, minio);
      console.log(`${server.name}: a session without puts costs ${sessionRequests[server.name]} S3 requests`);
    }
    const ctx = { key, downloads, minioPid };
    for (let round = 1; round <= cfg.rounds; round++) {
      const order = rotation(servers, round);
      for (const scenario of scenarios) {
        for (const server of order) {
          try {
            const s = await measureTransfer(server, scenario, round, ctx);
            transfers.push(s);
            console.log(
              `round ${round} ${scenario.id.padEnd(12)} ${server.name.padEnd(9)} ${fmt(s.mbPerSecond, 0).padStart(5)} MB/s ` +
                `${fmt(s.cpuSecondsPerGiB)} CPU-s/GiB peak RSS ${fmt(s.peakRssBytes / MiB, 0)} MiB`,
            );
            if (round === 1 && scenario.id === 'download x1') {
              const sha = await sha256File(downloadPath(ctx, server, single));
              integrity.push(`${server.name}: ${sha === sourceSha ? 'matches' : `**MISMATCH** (${sha})`}`);
              if (sha !== sourceSha) failures.push(`${server.name}: downloaded file differs from the source`);
            }
          } catch (err) {
            failures.push(`round ${round} ${scenario.id} ${server.name}: ${String(err).split('\n')[0]}`);
            console.error(`round ${round} ${scenario.id} ${server.name}: FAILED ${String(err)}`);
          }
        }
      }
      for (const server of order) {
        try {
          const s = await measureSmallFiles(server, key, smallSet, round, minio, sessionRequests[server.name]);
          small.push(s);
          console.log(
            `round ${round} small files  ${server.name.padEnd(9)} ${fmt(s.seconds)} s, ${fmt(s.cpuMsPerFile)} CPU-ms/file, ` +
              `S3 requests/file ${s.s3RequestsPerFile === null ? '—' : fmt(s.s3RequestsPerFile)}`,
          );
        } catch (err) {
          failures.push(`round ${round} small files ${server.name}: ${String(err).split('\n')[0]}`);
          console.error(`round ${round} small files ${server.name}: FAILED ${String(err)}`);
        }
      }
      load.push(loadavg());
    }
    if (cfg.putPreserve && minio) {
      for (const server of servers.filter((s) => s.name !== 'openssh')) {
        try {
          const p = await measurePutPreserve(server, key, single, cfg.totalBytes, minio);
          putPreserve.push(p);
          console.log(`put -p      ${server.name.padEnd(9)} ${JSON.stringify(p.minio)}`);
        } catch (err) {
          failures.push(`put -p ${server.name}: ${String(err).split('\n')[0]}`);
        }
      }
      load.push(loadavg());
    }
    // Stopped before the report: the pod writes its CPU profile only when it exits.
    const described = servers.map((s) => `${s.name}: ${s.describe}`);
    for (const s of servers.splice(0)) await s.stop();
    const results: RunResults = {
      servers: cfg.servers.filter((n) => idleRssBytes[n] !== undefined),
      transfers,
      small,
      idleRssBytes,
      putPreserve,
      sessionRequests,
    };
    const setup =
      `${cfg.totalBytes / MiB} MiB per transfer, ${cfg.rounds} rounds (server order rotated per round), medians; ` +
      `${cfg.smallFiles} x ${cfg.smallKib} KiB; S3 over ${cfg.tls ? 'HTTPS' : 'HTTP'}; client OpenSSH \`sftp\` ` +
      `${SFTP_OPTIONS.filter((o) => o.startsWith('Ciphers')).join(' ')}; ${cpus().length} CPUs, Node ${process.versions.node}.`;
    const verdictMd = renderVerdict(verdict(measuredFromRun(results)), { startedAt, tree, load, setup });
    const scenarioIds = scenarios.map((s) => s.id);
    const profile = cpuProfileDir ? latestProfile(cpuProfileDir) : undefined;
    const md = [
      `#### Run ${startedAt.slice(0, 16).replace('T', ' ')} UTC, commit \`${tree}\``,
      '',
      verdictMd,
      '',
      `Servers: ${described.join('; ')}.`,
      '',
      '##### Throughput',
      '',
      renderTransfers(results, scenarioIds),
      '',
      '##### Small files',
      '',
      renderSmallFiles(results, cfg.smallFiles, cfg.smallKib),
      '',
      ...(putPreserve.length > 0 ? ['##### `put -p`', '', renderPutPreserve(results), ''] : []),
      '##### sftp-pod internals (its own /metrics, diffed around each transfer, pooled over rounds)',
      '',
      renderPodInternals(results, scenarioIds) || '(sftp-pod not measured)',
      '',
      `Integrity (SHA-256 of the round-1 download against the source): ${integrity.join('; ') || 'not checked'}.`,
      ...(profile
        ? [
            '',
            `##### Where sftp-pod's CPU went (node --cpu-prof, ${fmt(profile.totalSeconds, 1)} s of samples; figures above are perturbed)`,
            '',
            '| area (self time) | s | share |',
            '|---|---|---|',
            ...profile.areas.map((a) => `| ${a.what} | ${fmt(a.seconds, 1)} | ${fmt(a.share * 100, 0)}% |`),
            '',
            '| function (self time) | s | share |',
            '|---|---|---|',
            ...profile.functions.map((a) => `| \`${a.what}\` | ${fmt(a.seconds, 1)} | ${fmt(a.share * 100, 0)}% |`),
          ]
        : []),
      ...(failures.length > 0 ? ['', '##### Failures', '', ...failures.map((f) => `- ${f}`)] : []),
    ].join('\n');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'sftp-compare.md'), `${md}\n`);
    writeFileSync(join(out, 'verdict.md'), `${verdictMd}\n`);
    writeFileSync(
      join(out, 'sftp-compare.json'),
      `${JSON.stringify({ startedAt, tree, config: cfg, load, results, measured: measuredFromRun(results), failures }, null, 2)}\n`,
    );
    console.log(`\n${md}\n\n(written to .bench/sftp-compare.{md,json} and .bench/verdict.md)`);
    if (failures.length > 0) process.exitCode = 1;
  } finally {
    for (const s of servers) await s.stop().catch(() => {});
    await minio?.stop().catch(() => {});
    removeTempDir(dir);
  }
}

await main();
