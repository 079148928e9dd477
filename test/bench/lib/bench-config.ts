// The comparison's settings from the environment, checked before any work starts (a typo must not cost a 15-minute
// run). Pure: takes the environment, returns the settings or throws BenchConfigError.
import { SERVER_NAMES, type ServerName } from './servers.ts';

const MiB = 2 ** 20;

export class BenchConfigError extends Error {
  override readonly name = 'BenchConfigError';
  readonly code = 'BenchConfig';
}

export interface BenchConfig {
  readonly quick: boolean;
  /** Bytes of the large transfers (and of `put -p`). */
  readonly totalBytes: number;
  readonly rounds: number;
  /** 1: single-client scenarios only (what the issue judges); N > 1 adds N clients at once moving the same total. */
  readonly streams: number;
  readonly servers: readonly ServerName[];
  /** MinIO over HTTPS, as production S3 is (the pod skips payload hashing only over TLS). */
  readonly tls: boolean;
  readonly smallFiles: number;
  readonly smallKib: number;
  readonly putPreserve: boolean;
  readonly cpuProfile: boolean;
  readonly podNodeArgs: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

function positiveInt(env: Env, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new BenchConfigError(`${name}: expected a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (text === '1') return true;
  if (text === '0') return false;
  throw new BenchConfigError(`${name}: expected 0 or 1, got ${JSON.stringify(text)}`);
}

export function benchConfig(env: Env): BenchConfig {
  const quick = flag(env, 'BENCH_QUICK', false);
  const totalBytes = positiveInt(env, 'BENCH_SFTP_MIB', quick ? 128 : 1024) * MiB;
  const streams = positiveInt(env, 'BENCH_STREAMS', 1);
  if (totalBytes % streams !== 0)
    throw new BenchConfigError(`BENCH_SFTP_MIB x 1 MiB must split evenly into BENCH_STREAMS=${streams} files`);
  const servers = (env['BENCH_SERVERS'] ?? SERVER_NAMES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      if (!(SERVER_NAMES as readonly string[]).includes(s))
        throw new BenchConfigError(
          `BENCH_SERVERS: unknown server ${JSON.stringify(s)} (known: ${SERVER_NAMES.join(', ')})`,
        );
      return s as ServerName;
    });
  if (servers.length === 0) throw new BenchConfigError(`BENCH_SERVERS selects none of ${SERVER_NAMES.join(', ')}`);
  return {
    quick,
    totalBytes,
    rounds: positiveInt(env, 'BENCH_ROUNDS', 3),
    streams,
    servers,
    tls: flag(env, 'BENCH_TLS', true),
    smallFiles: positiveInt(env, 'BENCH_SMALL_FILES', 200),
    smallKib: positiveInt(env, 'BENCH_SMALL_KIB', 4),
    putPreserve: flag(env, 'BENCH_PUT_P', true),
    cpuProfile: flag(env, 'BENCH_CPU_PROF', false),
    podNodeArgs: (env['BENCH_POD_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean),
  };
}
