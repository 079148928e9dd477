// The live half of the metrics check: a real sftp pod process (standalone, against MinIO) is scraped over HTTP, and
// every pod metric the chart's dashboard and alerts query must be in that scrape. (The operator's live scrape is in
// chart-rbac-live.test.ts, where the operator runs with the chart's RBAC.)

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  alertMetricNames,
  dashboardMetricNames,
  EXTERNAL_METRICS,
  missingFromScrapes,
} from '../../charts/sftpgate/hack/metric-names.ts';
import {
  httpGet,
  type ManagedProcess,
  type Minio,
  makeTempDir,
  releasePorts,
  removeTempDir,
  reservePorts,
  runCommand,
  spawnManaged,
  startMinio,
  waitUntil,
} from '../infra/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('dashboard and alert metrics in a live sftp pod scrape', () => {
  let minio: Minio;
  let pod: ManagedProcess | undefined;
  let dir: string;
  let ports: number[] = [];

  before(async () => {
    dir = makeTempDir('chart-metrics-live');
    minio = await startMinio();
    await minio.createBucket('metrics');
    await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ssh_host_ed25519_key')]);
    writeFileSync(join(dir, 'users.json'), JSON.stringify({ version: 1, shard: 0, shards: 1, users: [] }));
    ports = await reservePorts(2);
    const [ssh, metrics] = ports;
    pod = spawnManaged({
      name: 'sftp-pod',
      command: process.execPath,
      args: [
        join(ROOT, 'sftp-pod/bin/sftpgate-sftp.js'),
        `--listen=127.0.0.1:${ssh}`,
        `--metrics-listen=127.0.0.1:${metrics}`,
        `--host-key-dir=${dir}`,
        `--users-file=${join(dir, 'users.json')}`,
        `--s3-endpoint=${minio.endpoint}`,
        '--s3-bucket=metrics',
        '--s3-force-path-style=true',
      ],
      env: { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey },
      logFile: join(dir, 'pod.log'),
    });
    const running = pod;
    await waitUntil(
      'the sftp pod to be ready',
      async () => (await httpGet(`http://127.0.0.1:${metrics}/readyz`)).status === 200,
      { timeoutMs: 60_000, intervalMs: 250, process: running },
    );
  });

  after(async () => {
    await pod?.stop();
    await minio?.stop();
    releasePorts(ports);
    if (dir) removeTempDir(dir);
  });

  it('every SFTP-pod metric the dashboard and alerts use is in GET /metrics', async () => {
    const res = await httpGet(`http://127.0.0.1:${ports[1]}/metrics`);
    assert.equal(res.status, 200);
    const podSide = [...dashboardMetricNames(), ...alertMetricNames()].filter(
      (n) => !n.startsWith('sftpgate_operator_') && !EXTERNAL_METRICS.has(n),
    );
    assert.ok(podSide.length >= 15);
    assert.deepEqual(missingFromScrapes(new Set(podSide), [res.body]), []);
  });
});
