// Prometheus for real against the chart on a real cluster: Debian's prometheus scrapes the operator and sftp pods the
// test bed finds through kube-apiserver with the chart's selectors (test/infra/prometheus.ts: Debian's build has no
// kubernetes_sd); the chart's alert rules (its PrometheusRule,
// rendered by helm) are loaded; SftpgateOperatorAbsent fires when the operator is scaled away and resolves when it
// is back. The shipped `for:` durations (5-30 min) are shortened here, in the test's copy of the rules only.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Cluster, startCluster } from '../infra/cluster.ts';
import { applyExamples, installChart, SYSTEM_NAMESPACE } from '../infra/cluster-release.ts';
import { type Minio, makeTempDir, removeTempDir, startMinio, waitUntil } from '../infra/index.ts';
import { chartAlertRules, type Prometheus, startPrometheus } from '../infra/prometheus.ts';

const ALERT = 'SftpgateOperatorAbsent';

let cluster: Cluster;
let minio: Minio;
let prometheus: Prometheus;
let tmp: string;

before(async () => {
  tmp = makeTempDir('cluster-prom');
  cluster = await startCluster({ log: (l) => process.stderr.write(`# cluster: ${l}\n`) });
  minio = await startMinio({ address: cluster.hostIp });
  await minio.createBucket('sftpgate-demo', { versioning: true });
  await installChart(cluster, tmp);
  const key = join(tmp, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  await applyExamples(cluster, minio, 'tenant-p', readFileSync(`${key}.pub`, 'utf8'));
  prometheus = await startPrometheus({ cluster, rules: [await chartAlertRules(cluster, tmp, '4s')] });
});

after(async () => {
  await prometheus?.stop();
  await minio?.stop();
  await cluster?.stop();
  if (tmp) removeTempDir(tmp);
});

describe('Prometheus on the real cluster', () => {
  it('scrapes the operator and the sftp pods found through the API with the chart selectors', async () => {
    for (const job of ['sftpgate-operator', 'sftpgate-sftp']) {
      await waitUntil(`${job} scraped`, async () => (await prometheus.query(`max(up{job="${job}"})`)) === 1, {
        timeoutMs: 120_000,
        intervalMs: 1000,
      });
    }
    assert.equal(await prometheus.query('max(sftpgate_operator_leader{job="sftpgate-operator"})'), 1);
  });

  it(`the chart's alert rules are loaded; ${ALERT} fires when the operator is gone and resolves when it is back`, async () => {
    const state = async () => (await prometheus.alerts()).find((a) => a.name === ALERT)?.state;
    // Before the operator's first scrape `absent(up == 1)` holds, so the alert may still be active from then: the
    // operator being scraped must clear it.
    await waitUntil(`${ALERT} inactive while the operator is scraped`, async () => (await state()) === undefined, {
      timeoutMs: 60_000,
      intervalMs: 1000,
    });
    await cluster.kubectl(['scale', 'deployment', '--all', '-n', SYSTEM_NAMESPACE, '--replicas=0']);
    await waitUntil(`${ALERT} firing`, async () => (await state()) === 'firing', {
      timeoutMs: 180_000,
      intervalMs: 1000,
    });
    await cluster.kubectl(['scale', 'deployment', '--all', '-n', SYSTEM_NAMESPACE, '--replicas=1']);
    await waitUntil(`${ALERT} resolved`, async () => (await state()) === undefined, {
      timeoutMs: 180_000,
      intervalMs: 1000,
    });
  });
});
