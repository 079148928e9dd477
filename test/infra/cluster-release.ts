// sftpgate on a test cluster the way users install it: `helm install` of charts/sftpgate with the locally built
// images, then the examples/ credentials, server (NodePort Service) and user. Shared by test/e2e/cluster-*.test.ts and
// `make demo`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Cluster } from './cluster.ts';
import type { Minio } from './minio.ts';
import { type CommandResult, runCommand, waitUntil } from './process.ts';
import { toolPath } from './tools.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
export const RELEASE = 'sftpgate';
export const SYSTEM_NAMESPACE = 'sftpgate-system';

interface Manifest {
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown> & { storage?: Record<string, unknown> };
  stringData?: Record<string, string>;
}

/** A manifest of examples/, parsed. */
export function example(file: string): Manifest {
  return parse(readFileSync(join(ROOT, 'examples', file), 'utf8')) as Manifest;
}

/** Runs helm against the cluster with its state in `stateDir` (never the user's ~/.config/helm). */
export function helm(cluster: Cluster, stateDir: string, args: readonly string[]): Promise<CommandResult> {
  return runCommand(toolPath('helm'), [...args, '--kubeconfig', cluster.kube.kubeconfigPath], {
    timeoutMs: 600_000,
    env: { HELM_CACHE_HOME: join(stateDir, 'helm-cache'), HELM_CONFIG_HOME: join(stateDir, 'helm-config') },
  });
}

/** `--set` arguments that point the chart at the cluster's locally built images (one operator replica). */
export function chartImageArgs(cluster: Cluster): string[] {
  const images = cluster.images;
  if (!images) throw new Error('the cluster was started without images');
  const [opRepo = '', opTag = ''] = images.operator.split(':');
  const [sftpRepo = '', sftpTag = ''] = images.sftp.split(':');
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

/** `helm install` (or `upgrade --install`) of the chart; waits for the operator to be Ready. */
export async function installChart(
  cluster: Cluster,
  stateDir: string,
  extra: readonly string[] = [],
  verb: 'install' | 'upgrade' = 'install',
): Promise<void> {
  await helm(cluster, stateDir, [
    verb,
    RELEASE,
    join(ROOT, 'charts/sftpgate'),
    '-n',
    SYSTEM_NAMESPACE,
    ...(verb === 'install' ? ['--create-namespace'] : []),
    ...chartImageArgs(cluster),
    ...extra,
    '--wait',
    '--timeout',
    '5m',
  ]);
}

export async function applyManifest(cluster: Cluster, obj: unknown): Promise<void> {
  await cluster.kubectl(['apply', '-f', '-'], { input: stringify(obj) });
}

export interface ExampleServer {
  readonly namespace: string;
  readonly server: string;
  readonly user: string;
  readonly bucket: string;
  readonly prefix: string;
}

/**
 * examples/ as a platform and a tenant apply them: s3-credentials.yaml (MinIO's credentials, in the operator's
 * namespace) and sftpstorageprofile.yaml (pointed at MinIO, admitting `namespace`), then sftpserver.yaml (NodePort
 * Service) and sftpuser.yaml (with `publicKey`) in `namespace`; resolves when the server is Ready=True. The profile's
 * bucket must exist.
 */
export async function applyExamples(
  cluster: Cluster,
  minio: Minio,
  namespace: string,
  publicKey: string,
  opts: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<ExampleServer> {
  await cluster.kubectl(['create', 'namespace', namespace], { allowFailure: true });
  const creds = example('s3-credentials.yaml');
  creds.stringData = { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey };
  await applyManifest(cluster, creds);
  const profile = example('sftpstorageprofile.yaml');
  const selector = profile.spec['namespaceSelector'] as { matchExpressions: { values: string[] }[] };
  for (const e of selector.matchExpressions) if (!e.values.includes(namespace)) e.values.push(namespace);
  Object.assign(profile.spec, { endpoint: minio.endpoint, region: minio.region });
  await applyManifest(cluster, profile);
  const server = example('sftpserver.yaml');
  server.metadata.namespace = namespace;
  server.spec['service'] = { type: 'NodePort' };
  await applyManifest(cluster, server);
  const user = example('sftpuser.yaml');
  user.metadata.namespace = namespace;
  user.spec['authorizedKeys'] = [publicKey.trim()];
  await applyManifest(cluster, user);
  await waitUntil(
    `SftpServer ${namespace}/${server.metadata.name} Ready=True`,
    async () => {
      const res = await cluster.kubectl(
        [
          'get',
          'sftpserver',
          server.metadata.name,
          '-n',
          namespace,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ],
        { allowFailure: true },
      );
      return res.stdout.trim() === 'True';
    },
    { timeoutMs: opts.timeoutMs ?? 300_000, intervalMs: 1000, signal: opts.signal },
  );
  return {
    namespace,
    server: server.metadata.name,
    user: user.metadata.name,
    bucket: String(profile.spec['bucket']),
    // The operator derives it: <profile root>/<namespace>/<server> (docs/api.md).
    prefix: `${String(profile.spec['root'])}/${namespace}/${server.metadata.name}`,
  };
}

/** The NodePort of a server's Service (reachable at cluster.nodeIp). */
export async function serverNodePort(cluster: Cluster, namespace: string, server: string): Promise<number> {
  const out = await cluster.kubectl([
    'get',
    'service',
    '-n',
    namespace,
    '-l',
    `app.kubernetes.io/instance=${server}`,
    '-o',
    'jsonpath={.items[0].spec.ports[0].nodePort}',
  ]);
  const port = Number(out.stdout.trim());
  if (!port) throw new Error(`no NodePort on the Service of ${namespace}/${server}`);
  return port;
}
