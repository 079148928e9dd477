// Starting sets of components for humans: `cli.ts up ...` and `make demo` (runDemo: the real cluster, cluster-demo.ts).

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startClusterDemo } from './cluster-demo.ts';
import { type ControlPlane, startControlPlane } from './control-plane.ts';
import { type Minio, startMinio } from './minio.ts';
import { type Moto, startMoto } from './moto.ts';

export const COMPONENTS = ['minio', 'moto', 'kube'] as const;
export type Component = (typeof COMPONENTS)[number];

export interface Testbed {
  readonly minio?: Minio;
  readonly moto?: Moto;
  readonly kube?: ControlPlane;
  /** Stops everything that was started. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly signal?: AbortSignal;
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
}

/** Starts the given components side by side. On any failure, stops what did start and rethrows the first error. */
export async function startComponents(components: readonly Component[], opts: StartOptions = {}): Promise<Testbed> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const signal = opts.signal;
  const timed = async <T>(name: string, start: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const started = await start();
    log(`${name} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return started;
  };
  const want = new Set(components);
  const results = await Promise.allSettled([
    want.has('minio') ? timed('minio', () => startMinio(signal ? { signal } : {})) : undefined,
    want.has('moto') ? timed('moto', () => startMoto(signal ? { signal } : {})) : undefined,
    // The controller-manager makes ownerReference garbage collection and namespace deletion work, as in a cluster.
    want.has('kube')
      ? timed('kube', () => startControlPlane({ controllerManager: true, ...(signal ? { signal } : {}) }))
      : undefined,
  ]);
  const [minio, moto, kube] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined)) as [
    Minio | undefined,
    Moto | undefined,
    ControlPlane | undefined,
  ];
  let stopping: Promise<void> | undefined;
  const testbed: Testbed = {
    ...(minio ? { minio } : {}),
    ...(moto ? { moto } : {}),
    ...(kube ? { kube } : {}),
    stop() {
      stopping ??= Promise.all([minio?.stop(), moto?.stop(), kube?.stop()]).then(() => {});
      return stopping;
    },
  };
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await testbed.stop();
    throw failed.reason;
  }
  return testbed;
}

/** Human-readable "how to reach it", with credentials: this is for a developer's terminal, never a log file. */
export function describeTestbed(tb: Testbed, envFile?: string): string {
  const out: string[] = [];
  if (tb.minio) {
    const m = tb.minio;
    out.push(
      'MinIO (S3 + STS)',
      `  endpoint          ${m.endpoint}   (path-style, region ${m.region})`,
      `  root access key   ${m.accessKeyId}`,
      `  root secret key   ${m.secretAccessKey}`,
      `  try: AWS_ACCESS_KEY_ID=${m.accessKeyId} AWS_SECRET_ACCESS_KEY=${m.secretAccessKey} \\`,
      `         rclone lsd :s3: --s3-provider Minio --s3-endpoint ${m.endpoint} --s3-env-auth`,
      '',
    );
  }
  if (tb.moto) {
    const m = tb.moto;
    out.push(
      'moto (AWS IAM + STS)',
      `  endpoint          ${m.endpoint}   (any credentials, account ${m.accountId})`,
      `  try: curl -s "${m.endpoint}/?Action=ListRoles&Version=2010-05-08" -H 'Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request'`,
      '',
    );
  }
  if (tb.kube) {
    const k = tb.kube;
    out.push(
      'Kubernetes control plane (etcd + kube-apiserver + controller-manager; no nodes: pods never run)',
      `  server            ${k.server}`,
      `  admin kubeconfig  ${k.kubeconfigPath}`,
      `  try: KUBECONFIG=${k.kubeconfigPath} kubectl get ns`,
      '',
    );
  }
  if (envFile) out.push(`All of the above as shell variables: source ${envFile}`, '');
  return out.join('\n');
}

/** Writes `export VAR=...` lines for the started components (for `source`). Returns the path. */
export function writeEnvFile(tb: Testbed, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'testbed.env');
  const lines: string[] = ['# Written by test/infra/cli.ts while the test bed runs; removed when it stops.'];
  if (tb.minio) {
    lines.push(
      `export SFTPGATE_S3_ENDPOINT=${tb.minio.endpoint}`,
      `export AWS_ACCESS_KEY_ID=${tb.minio.accessKeyId}`,
      `export AWS_SECRET_ACCESS_KEY=${tb.minio.secretAccessKey}`,
      `export AWS_REGION=${tb.minio.region}`,
    );
  }
  if (tb.moto) lines.push(`export SFTPGATE_IAM_ENDPOINT=${tb.moto.endpoint}`);
  if (tb.kube) lines.push(`export KUBECONFIG=${tb.kube.kubeconfigPath}`);
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  return path;
}

export function removeEnvFile(path: string): void {
  rmSync(path, { force: true });
}

/**
 * `make demo`: a real single-node cluster with the chart installed by helm from the images built here, MinIO, the
 * examples/ server and user, and how to connect (cluster-demo.ts). Returns the running set; the caller keeps it in
 * the foreground and stops it.
 */
export async function runDemo(opts: StartOptions & { readonly stateDir: string }): Promise<Testbed> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const demo = await startClusterDemo({
    stateDir: opts.stateDir,
    log,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const tb: Testbed = { minio: demo.minio, kube: demo.cluster.kube, stop: () => demo.stop() };
  process.stdout.write(`All of the above as shell variables: source ${writeEnvFile(tb, opts.stateDir)}\n`);
  return tb;
}
