// `put -p` of one large file (the client sends SETSTAT with the file's times after the data, as WinSCP does by
// default): what it costs in S3 requests and bytes written by MinIO, as MinIO counts them. A server that keeps the
// time by copying the finished object onto itself writes the file twice.
import { basename } from 'node:path';
import type { Minio } from '../../infra/index.ts';
import { runSftp } from './client.ts';
import { diffMinioCounters, type MinioCounters, readMinioCounters } from './minio-metrics.ts';
import type { BenchServer, ClientKey, ServerName } from './servers.ts';

export interface PutPreserveSample {
  readonly server: ServerName;
  readonly fileBytes: number;
  readonly seconds: number;
  readonly minio: MinioCounters;
}

export async function measurePutPreserve(
  server: BenchServer,
  key: ClientKey,
  source: string,
  fileBytes: number,
  minio: Minio,
): Promise<PutPreserveSample> {
  await server.clear();
  const before = await readMinioCounters(minio);
  const t0 = performance.now();
  const remote = `${server.remoteDir.replace(/\/$/, '')}/preserved-${basename(source)}`;
  await runSftp(server, key, [`put -p ${source} ${remote}`], AbortSignal.timeout(30 * 60_000));
  const seconds = (performance.now() - t0) / 1000;
  return { server: server.name, fileBytes, seconds, minio: diffMinioCounters(await readMinioCounters(minio), before) };
}
