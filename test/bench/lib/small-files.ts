// The small-files scenario: `count` files of a few KiB put by ONE OpenSSH `sftp` batch (one session), measuring wall
// time, the server's CPU per file and, for the S3 servers, the S3 requests MinIO itself counted per file.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Minio } from '../../infra/index.ts';
import { makeRandomFile, runSftp } from './client.ts';
import { diffMinioCounters, readMinioCounters } from './minio-metrics.ts';
import { treeCpu } from './procfs.ts';
import type { BenchServer, ClientKey, ServerName } from './servers.ts';
import { total } from './stats.ts';

export interface SmallFilesSet {
  readonly dir: string;
  readonly names: readonly string[];
  readonly size: number;
}

/** Writes `count` random files of `size` bytes into `<parent>/small`. */
export async function makeSmallFiles(parent: string, count: number, size: number): Promise<SmallFilesSet> {
  const dir = join(parent, 'small');
  mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => `f${String(i).padStart(4, '0')}.bin`);
  for (const n of names) await makeRandomFile(join(dir, n), size);
  return { dir, names, size };
}

export interface SmallFilesSample {
  readonly round: number;
  readonly server: ServerName;
  readonly seconds: number;
  readonly cpuMsPerFile: number;
  /**
   * (S3 requests of the session − those of the same session without the puts) ÷ files: what one small file costs,
   * the login's and `cd`'s own listings left out. null for a server that does not write to MinIO (OpenSSH).
   */
  readonly s3RequestsPerFile: number | null;
  /** Every S3 request of the session, the session's own included. */
  readonly s3Requests: number | null;
  readonly s3ByApi: Readonly<Record<string, number>>;
}

function sessionCommands(server: BenchServer, set: SmallFilesSet, puts: boolean): string[] {
  return [`lcd ${set.dir}`, `cd ${server.remoteDir}`, ...(puts ? set.names.map((n) => `put ${n}`) : [])];
}

/** S3 requests (MinIO's count) of the same session without its puts: login and `cd` alone. */
export async function sessionBaselineRequests(
  server: BenchServer,
  key: ClientKey,
  set: SmallFilesSet,
  minio: Minio,
): Promise<number> {
  const before = await readMinioCounters(minio);
  await runSftp(server, key, sessionCommands(server, set, false), AbortSignal.timeout(60_000));
  return total(diffMinioCounters(await readMinioCounters(minio), before).requestsByApi);
}

/**
 * One round for one server: an empty target first (outside the window), then every file in one session.
 * `baseline`: the session's own S3 requests (sessionBaselineRequests), left out of the per-file figure.
 */
export async function measureSmallFiles(
  server: BenchServer,
  key: ClientKey,
  set: SmallFilesSet,
  round: number,
  minio: Minio | undefined,
  baseline = 0,
): Promise<SmallFilesSample> {
  await server.clear();
  const commands = sessionCommands(server, set, true);
  const s3 = server.name !== 'openssh' && minio ? minio : undefined;
  const before = s3 ? await readMinioCounters(s3) : undefined;
  const cpu0 = treeCpu(server.pid);
  const t0 = performance.now();
  await runSftp(server, key, commands, AbortSignal.timeout(600_000));
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = treeCpu(server.pid);
  const s3ByApi = s3 && before ? diffMinioCounters(await readMinioCounters(s3), before).requestsByApi : {};
  const count = set.names.length;
  return {
    round,
    server: server.name,
    seconds,
    cpuMsPerFile: ((cpu1.user + cpu1.system - cpu0.user - cpu0.system) * 1000) / count,
    s3RequestsPerFile: s3 ? (total(s3ByApi) - baseline) / count : null,
    s3Requests: s3 ? total(s3ByApi) : null,
    s3ByApi,
  };
}
