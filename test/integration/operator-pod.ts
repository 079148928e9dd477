// Runs the sftp pod process exactly as the operator's Deployment configures it — the test control plane has no
// kubelet, so we play its part: the container's env with fieldRef/secretKeyRef resolved, the host-keys Secret
// "mounted" as files, and API access through a token of the pod's own ServiceAccount (so its Role is exercised).
// Only the listen addresses change (loopback, free ports). Used by `make demo` and the operator e2e tests.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import { type KubeClient, Resources } from '../../operator/src/runtime/kube-client.ts';
import {
  type ControlPlane,
  httpGet,
  type ManagedProcess,
  releasePorts,
  reservePorts,
  spawnManaged,
  waitUntil,
} from '../infra/index.ts';

const repoRoot = new URL('../../', import.meta.url).pathname;

export interface RunningPod {
  readonly sshPort: number;
  readonly metricsUrl: string;
  readonly process: ManagedProcess;
  /** The env the process got (secret values included: for tests, never for logs). */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export interface StartPodOptions {
  readonly cp: ControlPlane;
  readonly admin: KubeClient;
  readonly namespace: string;
  /** The SftpServer's name; its Deployment is `<server>-sftp`. */
  readonly server: string;
  /** Scratch directory for host keys, kubeconfig and the log. */
  readonly dir: string;
  readonly signal?: AbortSignal;
  readonly startupTimeoutMs?: number;
}

/** The Deployment's container env with every valueFrom resolved the way the kubelet would. */
export async function resolveDeploymentEnv(
  admin: KubeClient,
  namespace: string,
  deployment: V1Deployment,
): Promise<Record<string, string>> {
  const container = deployment.spec?.template.spec?.containers[0];
  const env: Record<string, string> = {};
  for (const e of container?.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const secret = (await admin.get(Resources.Secret, namespace, ref.name ?? '')) as V1Secret;
      const raw = secret.data?.[ref.key];
      if (raw === undefined) throw new Error(`env ${e.name}: Secret ${ref.name} has no key ${ref.key}`);
      env[e.name] = Buffer.from(raw, 'base64').toString('utf8');
    } else {
      throw new Error(`env ${e.name}: valueFrom not supported by the test kubelet stand-in`);
    }
  }
  return env;
}

/** Starts the pod process and resolves once its /readyz answers 200. */
export async function startSftpPod(o: StartPodOptions): Promise<RunningPod> {
  const deployment = (await o.admin.get(Resources.Deployment, o.namespace, `${o.server}-sftp`)) as V1Deployment;
  const pod = deployment.spec?.template.spec;
  const container = pod?.containers[0];
  if (!pod || !container) throw new Error(`Deployment ${o.server}-sftp has no pod template`);
  const env = await resolveDeploymentEnv(o.admin, o.namespace, deployment);

  // The host-keys volume, as the kubelet would project it.
  mkdirSync(o.dir, { recursive: true });
  const hostKeyDir = join(o.dir, 'host-keys');
  mkdirSync(hostKeyDir, { recursive: true, mode: 0o700 });
  const volume = pod.volumes?.find((v) => v.name === 'host-keys')?.secret;
  const keys = (await o.admin.get(Resources.Secret, o.namespace, volume?.secretName ?? '')) as V1Secret;
  for (const item of volume?.items ?? []) {
    const file = join(hostKeyDir, item.path);
    writeFileSync(file, Buffer.from(keys.data?.[item.key] ?? '', 'base64'), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const mount = container.volumeMounts?.find((m) => m.name === 'host-keys')?.mountPath;
  if (env['SFTPGATE_HOST_KEY_DIR'] !== mount)
    throw new Error('SFTPGATE_HOST_KEY_DIR does not point at the host-keys mount');
  env['SFTPGATE_HOST_KEY_DIR'] = hostKeyDir;

  // API access as the pod's ServiceAccount: its Role decides what it may read.
  env['KUBECONFIG'] = await o.cp.serviceAccountKubeconfig(o.namespace, pod.serviceAccountName ?? 'default', {
    ...(o.signal ? { signal: o.signal } : {}),
  });

  const [sshPort, metricsPort] = await reservePorts(2);
  if (sshPort === undefined || metricsPort === undefined) throw new Error('no free ports');
  env['SFTPGATE_LISTEN'] = `127.0.0.1:${sshPort}`;
  env['SFTPGATE_METRICS_LISTEN'] = `127.0.0.1:${metricsPort}`;
  releasePorts([sshPort, metricsPort]);
  const proc = spawnManaged({
    name: `sftp-pod ${o.server}`,
    command: process.execPath,
    args: [join(repoRoot, 'sftp-pod/bin/sftpgate-sftp.js')],
    env,
    cwd: repoRoot,
    logFile: join(o.dir, `sftp-pod-${o.server}.log`),
    graceSeconds: 5,
  });
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  try {
    await waitUntil(
      'sftp pod ready',
      async (signal) => (await httpGet(`${metricsUrl}/readyz`, { signal })).status === 200,
      { timeoutMs: o.startupTimeoutMs ?? 60_000, process: proc, ...(o.signal ? { signal: o.signal } : {}) },
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { sshPort, metricsUrl, process: proc, env, stop: () => proc.stop() };
}
