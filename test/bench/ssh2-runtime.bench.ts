// Measures: server CPU-seconds per GiB and throughput of ssh2's SFTP protocol ceiling (uploads discarded by the
// server) under each Node runtime we could ship, OpenSSH `sftp` as the client, aes128-gcm, A/B interleaved rounds.
// Decides the runtime major (docs/decisions.md). Env: BENCH_SSH2_MIB (default 256), BENCH_ROUNDS (default 3),
// BENCH_NODE_VERSIONS (default "22.23.3" compared with the pinned runtime).
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeRandomFile, SFTP_OPTIONS } from './lib/client.ts';

const repo = new URL('../../', import.meta.url).pathname;
const mib = Number(process.env['BENCH_SSH2_MIB'] ?? 256);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const others = (process.env['BENCH_NODE_VERSIONS'] ?? '22.23.3').split(/\s+/).filter(Boolean);

interface Runtime {
  readonly label: string;
  readonly node: string;
}
interface Sample {
  readonly runtime: string;
  readonly round: number;
  readonly seconds: number;
  readonly mbPerSecond: number;
  readonly cpuSecondsPerGiB: number;
}

function provision(version: string): string {
  const bin = execFileSync('bash', [join(repo, 'test/infra/install/node.sh'), version], { encoding: 'utf8' }).trim();
  return join(bin, 'node');
}

async function once(rt: Runtime, round: number, dir: string): Promise<Sample> {
  const server = spawn(rt.node, [join(repo, 'test/bench/fixtures/ssh2-discard-server.ts'), join(dir, 'host_key')], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  const { port } = JSON.parse(String(first.value)) as { port: number };
  const started = process.hrtime.bigint();
  execFileSync(
    'sftp',
    // The same client options as every other benchmark; the server accepts the `none` auth method, so no key.
    ['-q', '-b', join(dir, 'batch'), ...SFTP_OPTIONS, '-P', String(port), 'bench@127.0.0.1'],
    { stdio: 'inherit' },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  server.kill('SIGTERM');
  const last = await lines.next();
  const cpu = JSON.parse(String(last.value)) as { cpuUserMs: number; cpuSystemMs: number; bytes: number };
  const gib = cpu.bytes / 2 ** 30;
  return {
    runtime: rt.label,
    round,
    seconds,
    mbPerSecond: cpu.bytes / 1e6 / seconds,
    cpuSecondsPerGiB: (cpu.cpuUserMs + cpu.cpuSystemMs) / 1000 / gib,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const runtimes: Runtime[] = [
    { label: `node ${process.versions.node} (pinned)`, node: process.execPath },
    ...others.map((v) => ({ label: `node ${v}`, node: provision(v) })),
  ];
  const dir = await mkdtemp(join(tmpdir(), 'sftpgate-bench-ssh2-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
    const file = join(dir, 'payload');
    await makeRandomFile(file, mib * 2 ** 20);
    await writeFile(join(dir, 'batch'), `put ${file} /upload\n`);
    const samples: Sample[] = [];
    for (let round = 1; round <= rounds; round++) {
      // Interleave runtimes within a round, alternating the order, so machine noise hits both alike.
      const order = round % 2 === 1 ? runtimes : [...runtimes].reverse();
      for (const rt of order) {
        const s = await once(rt, round, dir);
        samples.push(s);
        console.log(
          `${s.runtime.padEnd(24)} round ${round}: ${s.mbPerSecond.toFixed(0)} MB/s, ${s.cpuSecondsPerGiB.toFixed(2)} CPU-s/GiB`,
        );
      }
    }
    const rows = runtimes.map((rt) => {
      const mine = samples.filter((s) => s.runtime === rt.label);
      return {
        runtime: rt.label,
        medianCpuSecondsPerGiB: median(mine.map((s) => s.cpuSecondsPerGiB)),
        medianMbPerSecond: median(mine.map((s) => s.mbPerSecond)),
      };
    });
    const base = rows[0]?.medianCpuSecondsPerGiB ?? Number.NaN;
    const md = [
      `ssh2 SFTP ceiling, ${mib} MiB uploads x ${rounds} interleaved rounds, OpenSSH sftp client, aes128-gcm`,
      '',
      '| runtime | median server CPU-s/GiB | ratio to pinned | median MB/s (noisy) |',
      '|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.runtime} | ${r.medianCpuSecondsPerGiB.toFixed(2)} | ${(r.medianCpuSecondsPerGiB / base).toFixed(2)} | ${r.medianMbPerSecond.toFixed(0)} |`,
      ),
    ].join('\n');
    const out = join(repo, '.bench');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'ssh2-runtime.md'), `${md}\n`);
    await writeFile(join(out, 'ssh2-runtime.json'), `${JSON.stringify({ mib, rounds, samples, rows }, null, 2)}\n`);
    console.log(`\n${md}\n\n(written to .bench/ssh2-runtime.{md,json})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
