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
import { parse, stringify } from 'yaml';
import { type Cluster, startCluster } from '../infra/cluster.ts';
import {
  type Minio,
  makeTempDir,
  removeTempDir,
  runCommand,
  sftpClientArgs,
  startMinio,
  toolPath,
  waitUntil,
} from '../infra/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const RELEASE = 'sftpgate';
const SYSTEM_NS = 'sftpgate-system';
const NS = 'tenant-a';
const BUCKET = 'sftpgate-demo';

let cluster: Cluster;
let minio: Minio;
let tmp: string;
let keyFile: string;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
interface Manifest {
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown> & { storage?: Record<string, unknown> };
  stringData?: Record<string, string>;
}
const example = (file: string) => parse(readFileSync(join(ROOT, 'examples', file), 'utf8')) as Manifest;

interface KubeObj {
  metadata: { name: string; deletionTimestamp?: string };
  spec?: {
    ports?: { nodePort?: number }[];
    template?: { spec: { containers: { args?: string[] }[] } };
  };
  status?: { conditions?: { type: string; status: string }[] };
}
interface KubeList {
  items: KubeObj[];
}

async function kubectlJson<T = KubeObj>(args: readonly string[]): Promise<T> {
  return JSON.parse((await cluster.kubectl([...args, '-o', 'json'])).stdout) as T;
}

async function apply(obj: unknown): Promise<void> {
  await cluster.kubectl(['apply', '-f', '-'], { input: stringify(obj) });
}

function helm(args: readonly string[]) {
  return runCommand(toolPath('helm'), [...args, '--kubeconfig', cluster.kube.kubeconfigPath], {
    timeoutMs: 600_000,
    env: { HELM_CACHE_HOME: join(tmp, 'helm-cache'), HELM_CONFIG_HOME: join(tmp, 'helm-config') },
  });
}

function chartImageArgs(): string[] {
  const images = cluster.images;
  assert.ok(images);
  const [opRepo, opTag] = images.operator.split(':');
  const [sftpRepo, sftpTag] = images.sftp.split(':');
  return [
    '--set',
    `image.repository=${opRepo}`,
    '--set',
    `image.tag=${opTag}`,
    '--set',
    `sftpImage.repository=${sftpRepo}`,
    '--set',
    `sftpImage.tag=${sftpTag}`,
    '--set',
    'operator.replicas=1',
  ];
}

const condition = (obj: KubeObj | undefined, type: string): string | undefined =>
  (obj?.status?.conditions ?? []).find((c) => c.type === type)?.status;

async function nodePort(): Promise<number> {
  const svc = await kubectlJson<KubeList>(['get', 'service', '-n', NS, '-l', 'app.kubernetes.io/instance=demo']);
  const port = svc.items?.[0]?.spec?.ports?.[0]?.nodePort;
  assert.ok(port, 'the server Service has a NodePort');
  return port as number;
}

async function sftp(batch: string): Promise<void> {
  const port = await nodePort();
  await runCommand('sftp', ['-b', '-', ...sftpClientArgs({ port, user: 'alice', host: cluster.nodeIp, keyFile })], {
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
  await minio.createBucket(BUCKET, { versioning: true });
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
    await helm([
      'install',
      RELEASE,
      join(ROOT, 'charts/sftpgate'),
      '-n',
      SYSTEM_NS,
      '--create-namespace',
      ...chartImageArgs(),
      '--wait',
      '--timeout',
      '5m',
    ]);
    const pods = await kubectlJson<KubeList>(['get', 'pods', '-n', SYSTEM_NS]);
    assert.equal(pods.items.length, 1);
    assert.equal(condition(pods.items[0], 'Ready'), 'True');
  });

  it('the examples/ server and user: SftpServer Ready=True with real pods', async () => {
    await cluster.kubectl(['create', 'namespace', NS]);
    const creds = example('s3-credentials.yaml');
    creds.metadata.namespace = NS;
    creds.stringData = { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey };
    await apply(creds);
    const server = example('sftpserver.yaml');
    server.metadata.namespace = NS;
    server.spec.storage = { ...server.spec.storage, endpoint: minio.endpoint, region: minio.region };
    server.spec['service'] = { type: 'NodePort' };
    await apply(server);
    const user = example('sftpuser.yaml');
    user.metadata.namespace = NS;
    user.spec['authorizedKeys'] = [readFileSync(`${keyFile}.pub`, 'utf8').trim()];
    await apply(user);
    await waitUntil(
      'SftpServer demo Ready=True',
      async () => condition(await kubectlJson(['get', 'sftpserver', 'demo', '-n', NS]), 'Ready') === 'True',
      { timeoutMs: 300_000, intervalMs: 1000 },
    );
    const out = (await cluster.kubectl(['get', 'sftpservers', '-n', NS])).stdout;
    assert.match(out, /demo\s+True/, out);
    const pods = await kubectlJson<KubeList>(['get', 'pods', '-n', NS]);
    assert.ok(pods.items.length >= 1);
    for (const p of pods.items) assert.equal(condition(p, 'Ready'), 'True', p.metadata.name);
  });

  it('OpenSSH sftp through the NodePort: put and get, bytes checked against S3', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(join(tmp, 'up.bin'), data);
    await sftp(`put ${join(tmp, 'up.bin')} up.bin\nget up.bin ${join(tmp, 'down.bin')}\n`);
    assert.equal(sha256(readFileSync(join(tmp, 'down.bin'))), sha256(data));
    const obj = await minio.s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'servers/demo/alice/up.bin' }));
    assert.equal(sha256((await obj.Body?.transformToByteArray()) ?? new Uint8Array()), sha256(data));
  });

  it('helm upgrade rolls the operator and keeps the server serving', async () => {
    await helm([
      'upgrade',
      RELEASE,
      join(ROOT, 'charts/sftpgate'),
      '-n',
      SYSTEM_NS,
      ...chartImageArgs(),
      '--set',
      'operator.logLevel=debug',
      '--wait',
      '--timeout',
      '5m',
    ]);
    const dep = await kubectlJson<KubeList>([
      'get',
      'deployment',
      '-n',
      SYSTEM_NS,
      '-l',
      'app.kubernetes.io/instance=sftpgate',
    ]);
    assert.ok(JSON.stringify(dep.items[0]?.spec?.template?.spec.containers[0]?.args).includes('--log-level=debug'));
    await sftp(`get up.bin ${join(tmp, 'again.bin')}\n`);
    assert.equal(sha256(readFileSync(join(tmp, 'again.bin'))), sha256(readFileSync(join(tmp, 'up.bin'))));
  });

  it('helm uninstall: the operator goes, CRDs and user data stay', async () => {
    await helm(['uninstall', RELEASE, '-n', SYSTEM_NS, '--wait', '--timeout', '5m']);
    const crds = (await cluster.kubectl(['get', 'crd', '-o', 'name'])).stdout;
    assert.match(crds, /sftpservers\.sftpgate\.io/);
    assert.match(crds, /sftpusers\.sftpgate\.io/);
    await minio.s3().send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'servers/demo/alice/up.bin' }));
    const ops = await kubectlJson<KubeList>(['get', 'pods', '-n', SYSTEM_NS]);
    assert.equal(ops.items.filter((p) => !p.metadata.deletionTimestamp).length, 0);
  });
});
