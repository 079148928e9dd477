// Measures: server CPU-seconds per GiB and throughput of ssh2's SFTP protocol ceiling (uploads discarded by the
// server, downloads served from memory) under each Node runtime we could ship and each ssh2 variant, OpenSSH `sftp`
// as the client, aes128-gcm, interleaved rounds. Decided the runtime major and measures what patches/ssh2@*.patch
// and the pod's socket batching save (docs/decisions.md, docs/benchmarks.md).
// Env: BENCH_SSH2_MIB (default 256), BENCH_ROUNDS (default 3), BENCH_NODE_VERSIONS (default "22.23.3" compared with
// the pinned runtime; "" for the pinned one only), BENCH_SSH2_VARIANTS (default "patched": any of `stock` = ssh2 as
// npm ships it (Node's crypto), `batched` = stock + the pod's socket batching, `patched-node` = our patch + batching
// on Node's crypto, `patched` = our patch + batching + ssh2's native binding, as the pod runs),
// BENCH_SSH2_DIRECTIONS (default "upload": any of upload, download).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseUnifiedDiff, unpatchedText } from '../../patches/apply.ts';
import { makeRandomFile, SFTP_OPTIONS } from './lib/client.ts';

const repo = new URL('../../', import.meta.url).pathname;
const mib = Number(process.env['BENCH_SSH2_MIB'] ?? 256);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const others = (process.env['BENCH_NODE_VERSIONS'] ?? '22.23.3').split(/\s+/).filter(Boolean);
const variants = (process.env['BENCH_SSH2_VARIANTS'] ?? 'patched').split(/[\s,]+/).filter(Boolean) as Variant[];
const directions = (process.env['BENCH_SSH2_DIRECTIONS'] ?? 'upload').split(/[\s,]+/).filter(Boolean) as Direction[];
type Variant = 'stock' | 'batched' | 'patched-node' | 'patched';
type Direction = 'upload' | 'download';

interface Runtime {
  readonly label: string;
  readonly node: string;
  readonly variant: Variant;
  /** The ssh2 package directory the server loads ('' = the installed, patched one). */
  readonly ssh2: string;
}
interface Sample {
  readonly runtime: string;
  readonly direction: Direction;
  readonly round: number;
  readonly seconds: number;
  readonly mbPerSecond: number;
  readonly cpuSecondsPerGiB: number;
}

function provision(version: string): string {
  const bin = execFileSync('bash', [join(repo, 'test/infra/install/node.sh'), version], { encoding: 'utf8' }).trim();
  return join(bin, 'node');
}

/**
 * A copy of the installed ssh2 without its native binding (Node's crypto, as ssh2 falls back to), with our patch
 * reverted (`stock`) or kept (`patched-node`), where its own dependencies still resolve (under the repo).
 */
function ssh2Copy(variant: 'stock' | 'patched-node'): string {
  const installed = join(repo, 'node_modules/ssh2');
  const copy = join(repo, `.bench/ssh2-${variant}/node_modules/ssh2`);
  rmSync(copy, { recursive: true, force: true });
  cpSync(installed, copy, { recursive: true });
  rmSync(join(copy, 'lib/protocol/crypto/build'), { recursive: true, force: true });
  if (variant === 'patched-node') return copy;
  const patch = join(
    repo,
    `patches/ssh2@${JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version}.patch`,
  );
  for (const fp of parseUnifiedDiff(readFileSync(patch, 'utf8'))) {
    const file = join(copy, fp.path);
    const pristine = unpatchedText(readFileSync(file, 'utf8'), fp.hunks);
    if (pristine === undefined) throw new Error(`${file}: the installed ssh2 does not carry ${patch}`);
    writeFileSync(file, pristine);
  }
  return copy;
}

async function once(rt: Runtime, direction: Direction, round: number, dir: string): Promise<Sample> {
  const server = spawn(
    rt.node,
    [
      join(repo, 'test/bench/fixtures/ssh2-discard-server.ts'),
      join(dir, 'host_key'),
      rt.ssh2,
      rt.variant === 'stock' ? '' : 'batch',
    ],
    {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_SSH2_DOWNLOAD_BYTES: String(mib * 2 ** 20) },
    },
  );
  const lines = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  const { port } = JSON.parse(String(first.value)) as { port: number };
  const started = process.hrtime.bigint();
  execFileSync(
    'sftp',
    // The same client options as every other benchmark; the server accepts the `none` auth method, so no key.
    ['-q', '-b', join(dir, `batch-${direction}`), ...SFTP_OPTIONS, '-P', String(port), 'bench@127.0.0.1'],
    { stdio: 'inherit' },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  server.kill('SIGTERM');
  const last = await lines.next();
  const cpu = JSON.parse(String(last.value)) as { cpuUserMs: number; cpuSystemMs: number; bytes: number };
  const gib = cpu.bytes / 2 ** 30;
  return {
    runtime: rt.label,
    direction,
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
  const copies: Record<Variant, string> = {
    stock: variants.includes('stock') || variants.includes('batched') ? ssh2Copy('stock') : '',
    batched: '',
    'patched-node': variants.includes('patched-node') ? ssh2Copy('patched-node') : '',
    patched: '',
  };
  copies.batched = copies.stock;
  const bins = [
    { label: `node ${process.versions.node} (pinned)`, node: process.execPath },
    ...others.map((v) => ({ label: `node ${v}`, node: provision(v) })),
  ];
  const runtimes: Runtime[] = bins.flatMap((b) =>
    variants.map((variant) => ({
      label: variants.length > 1 ? `${b.label}, ${variant}` : b.label,
      node: b.node,
      variant,
      ssh2: copies[variant],
    })),
  );
  const dir = await mkdtemp(join(tmpdir(), 'sftpgate-bench-ssh2-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
    const file = join(dir, 'payload');
    await makeRandomFile(file, mib * 2 ** 20);
    await writeFile(join(dir, 'batch-upload'), `put ${file} /upload\n`);
    await writeFile(join(dir, 'batch-download'), `get /download ${join(dir, 'downloaded')}\n`);
    const samples: Sample[] = [];
    for (let round = 1; round <= rounds; round++) {
      // Interleave runtimes within a round, alternating the order, so machine noise hits both alike.
      const order = round % 2 === 1 ? runtimes : [...runtimes].reverse();
      for (const direction of directions) {
        for (const rt of order) {
          const s = await once(rt, direction, round, dir);
          samples.push(s);
          console.log(
            `${s.runtime.padEnd(32)} ${direction.padEnd(8)} round ${round}: ${s.mbPerSecond.toFixed(0)} MB/s, ${s.cpuSecondsPerGiB.toFixed(2)} CPU-s/GiB`,
          );
        }
      }
    }
    const rows = directions.flatMap((direction) => {
      const group = runtimes.map((rt) => {
        const mine = samples.filter((s) => s.runtime === rt.label && s.direction === direction);
        return {
          runtime: rt.label,
          direction,
          medianCpuSecondsPerGiB: median(mine.map((s) => s.cpuSecondsPerGiB)),
          medianMbPerSecond: median(mine.map((s) => s.mbPerSecond)),
          ratioToFirst: 0,
        };
      });
      // Ratios per round, then the median (docs/benchmarks.md rules), against the first contender.
      const first = runtimes[0]?.label;
      for (const r of group) {
        const ratios = Array.from({ length: rounds }, (_, k) => {
          const mine = samples.find((s) => s.runtime === r.runtime && s.direction === direction && s.round === k + 1);
          const base = samples.find((s) => s.runtime === first && s.direction === direction && s.round === k + 1);
          return (mine?.cpuSecondsPerGiB ?? Number.NaN) / (base?.cpuSecondsPerGiB ?? Number.NaN);
        });
        r.ratioToFirst = median(ratios);
      }
      return group;
    });
    const md = [
      `ssh2 SFTP ceiling, ${mib} MiB x ${rounds} interleaved rounds, OpenSSH sftp client, aes128-gcm`,
      '',
      `| runtime | direction | median server CPU-s/GiB | ratio to ${runtimes[0]?.label} (median of per-round) | median MB/s (noisy) |`,
      '|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.runtime} | ${r.direction} | ${r.medianCpuSecondsPerGiB.toFixed(2)} | ${r.ratioToFirst.toFixed(2)} | ${r.medianMbPerSecond.toFixed(0)} |`,
      ),
    ].join('\n');
    const out = join(repo, '.bench');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'ssh2-runtime.md'), `${md}\n`);
    await writeFile(
      join(out, 'ssh2-runtime.json'),
      `${JSON.stringify({ mib, rounds, variants, directions, samples, rows }, null, 2)}\n`,
    );
    console.log(`\n${md}\n\n(written to .bench/ssh2-runtime.{md,json})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
