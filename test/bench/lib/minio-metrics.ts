// What MinIO itself counts: S3 requests by API, bytes received over S3 and bytes it wrote to its drive, read from its
// Prometheus endpoint (public for the test bed, test/infra/minio.ts). The parsing is pure; reading waits out MinIO's
// metrics cache (it refreshes these figures about every 10 s).
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGet, type Minio } from '../../infra/index.ts';
import { parseProm } from './prom.ts';
import { diffCounts } from './stats.ts';

export interface MinioCounters {
  /** `minio_s3_requests_total` by its `api` label (MinIO's names: putobject, headobject, listobjectsv2, ...). */
  readonly requestsByApi: Readonly<Record<string, number>>;
  /** `minio_s3_traffic_received_bytes`: request bodies received. */
  readonly receivedBytes: number;
  /** `minio_node_io_write_bytes`: what the MinIO process wrote to storage (a server-side copy shows here only). */
  readonly writtenBytes: number;
}

export function parseMinioCounters(text: string): MinioCounters {
  const requestsByApi: Record<string, number> = {};
  let receivedBytes = 0;
  let writtenBytes = 0;
  for (const s of parseProm(text)) {
    if (s.name === 'minio_s3_requests_total') {
      const api = s.labels['api'] ?? '?';
      requestsByApi[api] = (requestsByApi[api] ?? 0) + s.value;
    } else if (s.name === 'minio_s3_traffic_received_bytes') receivedBytes += s.value;
    else if (s.name === 'minio_node_io_write_bytes') writtenBytes += s.value;
  }
  return { requestsByApi, receivedBytes, writtenBytes };
}

export function diffMinioCounters(after: MinioCounters, before: MinioCounters): MinioCounters {
  return {
    requestsByApi: diffCounts(after.requestsByApi, before.requestsByApi),
    receivedBytes: after.receivedBytes - before.receivedBytes,
    writtenBytes: after.writtenBytes - before.writtenBytes,
  };
}

/** MinIO refreshes its cluster metrics about every 10 s: a reading taken sooner may predate the last requests. */
export const MINIO_METRICS_CACHE_MS = 11_000;

/** Reads MinIO's counters after waiting out its cache, so everything done before the call is included. */
export async function readMinioCounters(minio: Minio): Promise<MinioCounters> {
  await sleep(MINIO_METRICS_CACHE_MS);
  const tls = minio.caPath ? { tls: { ca: readFileSync(minio.caPath) } } : {};
  const res = await httpGet(`${minio.endpoint}/minio/v2/metrics/cluster`, {
    ...tls,
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) throw new Error(`MinIO metrics answered ${res.status}`);
  return parseMinioCounters(res.body);
}
