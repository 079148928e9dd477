// The product as users meet it: `helm install` of the chart with the images built from the project's Dockerfile, on
// a real single-node cluster (test/infra/cluster.ts: kubelet, containerd, kube-proxy), against MinIO; then the
// examples/ server and user, OpenSSH `sftp` through the Service's NodePort, `helm upgrade` and `helm uninstall`.
// One cluster for the whole file; the cases run in order and build on each other.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { type Cluster, startCluster } from '../infra/cluster.ts';
import {
  applyExamples,
  type ExampleServer,
  helm,
  installChart,
  RELEASE,
  SYSTEM_NAMESPACE,
  serverNodePort,
} from '../infra/cluster-release.ts';
import { type Minio, makeTempDir, removeTempDir, runCommand, sftpClientArgs, startMinio } from '../infra/index.ts';

let cluster: Cluster;
let minio: Minio;
let tmp: string;
let keyFile: string;
let demo: ExampleServer;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface KubeObj {
  metadata: { name: string; deletionTimestamp?: string };
  spec?: { template?: { spec: { containers: { args?: string[] }[] } } };
  status?: { conditions?: { type: string; status: string }[] };
}

async function list(args: readonly string[]): Promise<KubeObj[]> {
  return (JSON.parse((await cluster.kubectl([...args, '-o', 'json'])).stdout) as { items: KubeObj[] }).items;
}

const condition = (obj: KubeObj | undefined, type: string): string | undefined =>
  (obj?.status?.conditions ?? []).find((c) => c.type === type)?.status;

async function sftp(batch: string): Promise<void> {
  const port = await serverNodePort(cluster, demo.namespace, demo.server);
  await runCommand('sftp', ['-b', '-', ...sftpClientArgs({ port, user: demo.user, host: cluster.nodeIp, keyFile })], {
    input: batch,
    timeoutMs: 120_000,
  });
}

before(async () => {
  tmp = makeTempDir('cluster-e2e');
  const t0 = performance.now();
  cluster = await startCluster({ log: (l) => process.stderr.write(`# cluster: ${l}\n`) });
  process.stderr.write(`# cluster: up in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  minio = await startMinio({ address: cluster.hostIp });
  keyFile = join(tmp, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@e2e', '-f', keyFile]);
});

after(async () => {
  await minio?.stop();
  await cluster?.stop();
  if (tmp) removeTempDir(tmp);
});

describe('helm install on a real cluster', () => {
  it('installs the chart and the operator pod becomes Ready', async () => {
    await installChart(cluster, tmp);
    const pods = await list(['get', 'pods', '-n', SYSTEM_NAMESPACE]);
    assert.equal(pods.length, 1);
    assert.equal(condition(pods[0], 'Ready'), 'True');
  });

  it('the examples/ server and user: SftpServer Ready=True with real pods', async () => {
    await minio.createBucket('sftpgate-demo', { versioning: true });
    demo = await applyExamples(cluster, minio, 'tenant-a', readFileSync(`${keyFile}.pub`, 'utf8'));
    const out = (await cluster.kubectl(['get', 'sftpservers', '-n', demo.namespace])).stdout;
    assert.match(out, /True/, out);
    const pods = await list(['get', 'pods', '-n', demo.namespace]);
    assert.ok(pods.length >= 1);
    for (const p of pods) assert.equal(condition(p, 'Ready'), 'True', p.metadata.name);
  });

  it('OpenSSH sftp through the NodePort: put and get, bytes checked against S3', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(join(tmp, 'up.bin'), data);
    await sftp(`put ${join(tmp, 'up.bin')} up.bin\nget up.bin ${join(tmp, 'down.bin')}\n`);
    assert.equal(sha256(readFileSync(join(tmp, 'down.bin'))), sha256(data));
    const key = `${demo.prefix}/${demo.user}/up.bin`;
    const obj = await minio.s3().send(new GetObjectCommand({ Bucket: demo.bucket, Key: key }));
    assert.equal(sha256((await obj.Body?.transformToByteArray()) ?? new Uint8Array()), sha256(data));
  });

  it('helm upgrade rolls the operator and the server keeps serving', async () => {
    await installChart(cluster, tmp, ['--set', 'operator.logLevel=debug'], 'upgrade');
    const deps = await list(['get', 'deployment', '-n', SYSTEM_NAMESPACE]);
    assert.ok(JSON.stringify(deps[0]?.spec?.template?.spec.containers[0]?.args).includes('--log-level=debug'));
    await sftp(`get up.bin ${join(tmp, 'again.bin')}\n`);
    assert.equal(sha256(readFileSync(join(tmp, 'again.bin'))), sha256(readFileSync(join(tmp, 'up.bin'))));
  });

  it('helm uninstall: the operator goes, CRDs and user data stay', async () => {
    await helm(cluster, tmp, ['uninstall', RELEASE, '-n', SYSTEM_NAMESPACE, '--wait', '--timeout', '5m']);
    const crds = (await cluster.kubectl(['get', 'crd', '-o', 'name'])).stdout;
    assert.match(crds, /sftpservers\.sftpgate\.io/);
    assert.match(crds, /sftpusers\.sftpgate\.io/);
    await minio.s3().send(new HeadObjectCommand({ Bucket: demo.bucket, Key: `${demo.prefix}/${demo.user}/up.bin` }));
    const ops = await list(['get', 'pods', '-n', SYSTEM_NAMESPACE]);
    assert.equal(ops.filter((p) => !p.metadata.deletionTimestamp).length, 0);
  });
});
