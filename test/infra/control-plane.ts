// An envtest-like Kubernetes control plane: etcd + kube-apiserver (+ optionally a trimmed kube-controller-manager)
// on loopback, with its own CA, RBAC on, a service-account issuer, and an admin kubeconfig in its temp dir.
// There is no kubelet and no scheduler: Pods are stored but never run. See docs/testbed.md for what it does not do.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { abortedError } from './errors.ts';
import { httpGet, type TlsOptions } from './http.ts';
import { createCa, ecKey, issueCert } from './pki.ts';
import { releasePorts, reservePorts, retryOnPortClash } from './ports.ts';
import {
  type CommandResult,
  type ManagedProcess,
  makeTempDir,
  removeTempDir,
  runCommand,
  spawnManaged,
  stopOnAbort,
  tailFile,
  waitUntil,
} from './process.ts';
import { toolPath } from './tools.ts';

export interface StartControlPlaneOptions {
  readonly signal?: AbortSignal;
  /**
   * Also run kube-controller-manager with only the garbagecollector (ownerReference cascading delete), namespace
   * (namespace deletion finalizes) and serviceaccount (a `default` SA per namespace) controllers. Adds ~1-2 s.
   */
  readonly controllerManager?: boolean;
  /** Default 120 s (a loaded 2-core CI machine). */
  readonly startupTimeoutMs?: number;
  /** Appended to kube-apiserver's flags (e.g. feature gates). */
  readonly extraApiServerArgs?: readonly string[];
  /**
   * The address kube-apiserver binds and advertises (default 127.0.0.1). The test cluster (cluster.ts) passes its
   * host-side veth address, which its node and pods can reach.
   */
  readonly address?: string;
  /** kube-controller-manager's --controllers (default: garbagecollector, namespace, serviceaccount). */
  readonly controllers?: readonly string[];
}

export interface KubectlOptions {
  readonly input?: string;
  readonly signal?: AbortSignal;
  /** Resolve with the result (and exit code) instead of throwing on failure. */
  readonly allowFailure?: boolean;
  /** Another kubeconfig (e.g. one from serviceAccountKubeconfig()). */
  readonly kubeconfig?: string;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Admin (system:masters) kubeconfig, with the credentials inlined. */
  readonly kubeconfigPath: string;
  /** PEM of the cluster CA (for clients that want it). */
  readonly caCertificate: string;
  readonly dir: string;
  readonly logFiles: { readonly etcd: string; readonly apiserver: string; readonly controllerManager?: string };
  /** Runs the machine's kubectl against this cluster (admin unless opts.kubeconfig). Throws CommandFailed. */
  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<CommandResult>;
  /** A client-node KubeConfig for the admin. */
  kubeConfig(): KubeConfig;
  /**
   * Writes a kubeconfig authenticating as ServiceAccount `namespace/name` with a TokenRequest token (1 h) and
   * returns its path. The ServiceAccount must exist. Its RBAC is whatever the test granted.
   */
  serviceAccountKubeconfig(namespace: string, name: string, opts?: { readonly signal?: AbortSignal }): Promise<string>;
  /** Stops and starts kube-apiserver on the same port and etcd, so every watch breaks. Resolves when ready again. */
  restartApiServer(opts?: { readonly signal?: AbortSignal }): Promise<void>;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** Starts etcd and kube-apiserver (+ controller-manager) and resolves when /readyz is ok and `default` exists. */
export async function startControlPlane(opts: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const bins = {
    etcd: toolPath('etcd'),
    apiserver: toolPath('kube-apiserver'),
    controllerManager: opts.controllerManager ? toolPath('kube-controller-manager') : undefined,
    kubectl: toolPath('kubectl'),
  };
  return retryOnPortClash(() => startOnce(bins, opts));
}

interface Binaries {
  readonly etcd: string;
  readonly apiserver: string;
  readonly controllerManager: string | undefined;
  readonly kubectl: string;
}

async function startOnce(bins: Binaries, opts: StartControlPlaneOptions): Promise<ControlPlane> {
  const signal = opts.signal;
  if (signal?.aborted) throw abortedError('start control plane', signal);
  const timeoutMs = opts.startupTimeoutMs ?? 120_000;
  const dir = makeTempDir('kube');
  const pki = join(dir, 'pki');
  mkdirSync(pki);
  // etcd fsyncs every write and 3.4 has no switch to stop that; tmpfs makes it cheap. /tmp is a disk here.
  const etcdDir = makeTempDir('etcd', shmParent());
  const ports = await reservePorts(3);
  const [etcdClientPort, etcdPeerPort, apiPort] = ports;
  if (etcdClientPort === undefined || etcdPeerPort === undefined || apiPort === undefined) {
    throw new Error('unreachable: reservePorts(3) returned fewer ports');
  }
  const address = opts.address ?? '127.0.0.1';
  const server = `https://${address}:${apiPort}`;
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const logFiles = {
    etcd: join(dir, 'etcd.log'),
    apiserver: join(dir, 'kube-apiserver.log'),
    ...(bins.controllerManager ? { controllerManager: join(dir, 'kube-controller-manager.log') } : {}),
  };

  const procs: { etcd?: ManagedProcess; apiserver?: ManagedProcess; cm?: ManagedProcess } = {};
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      detach();
      // Reverse order: the apiserver shuts down cleanly only while etcd still answers.
      await procs.cm?.stop();
      await procs.apiserver?.stop();
      await procs.etcd?.stop();
      releasePorts(ports);
      removeTempDir(etcdDir);
      removeTempDir(dir);
    })();
    return stopped;
  };
  const detach = stopOnAbort(signal, stop);

  try {
    // PKI (the certificates are made while etcd starts).
    const pkiReady = (async () => {
      const ca = await createCa(pki, 'sftpgate-test-ca', signal);
      const [serving, admin, cm] = await Promise.all([
        issueCert(
          pki,
          ca,
          {
            name: 'apiserver',
            commonName: 'kube-apiserver',
            usage: 'server',
            subjectAltNames: [
              'IP:127.0.0.1',
              ...(address !== '127.0.0.1' ? [`IP:${address}`] : []),
              'IP:10.0.0.1',
              'DNS:localhost',
              'DNS:kubernetes',
              'DNS:kubernetes.default',
              'DNS:kubernetes.default.svc',
              'DNS:kubernetes.default.svc.cluster.local',
            ],
          },
          signal,
        ),
        issueCert(
          pki,
          ca,
          { name: 'admin', commonName: 'sftpgate-test-admin', organizations: ['system:masters'], usage: 'client' },
          signal,
        ),
        // system:masters: with --use-service-account-credentials=false the garbage collector deletes any kind with
        // the manager's own identity, which the bootstrap system:kube-controller-manager role does not allow.
        bins.controllerManager
          ? issueCert(
              pki,
              ca,
              {
                name: 'controller-manager',
                commonName: 'system:kube-controller-manager',
                organizations: ['system:masters'],
                usage: 'client',
              },
              signal,
            )
          : undefined,
        ecKey(join(pki, 'sa.key'), signal, join(pki, 'sa.pub')),
      ]);
      return { ca, serving, admin, cm };
    })();

    procs.etcd = spawnManaged({
      name: 'etcd',
      command: bins.etcd,
      args: [
        '--name=default',
        `--data-dir=${join(etcdDir, 'data')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
        '--initial-cluster-state=new',
        '--logger=zap',
        '--log-level=warn',
      ],
      logFile: logFiles.etcd,
    });
    const etcd = procs.etcd;
    const etcdReady = waitUntil(
      `etcd on ${etcdUrl}`,
      async (s) => {
        const res = await httpGet(`${etcdUrl}/health`, { signal: s });
        return res.status === 200 && res.body.includes('"health":"true"');
      },
      { timeoutMs, signal, process: etcd },
    );
    const [{ ca, serving, admin, cm }] = await Promise.all([pkiReady, etcdReady]);
    const caCertificate = readFileSync(ca.certPath, 'utf8');
    const adminTls: TlsOptions = {
      ca: caCertificate,
      cert: readFileSync(admin.certPath),
      key: readFileSync(admin.keyPath),
    };

    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${serving.certPath}`,
      `--tls-private-key-file=${serving.keyPath}`,
      `--client-ca-file=${ca.certPath}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // The `kubernetes` Service's endpoints would have to be a non-loopback address; nothing here needs them.
      '--endpoint-reconciler-type=none',
      // API priority and fairness only matters under contention; off, startup is faster and there's less to log.
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      ...(opts.extraApiServerArgs ?? []),
    ];
    const startApiServer = async (s: AbortSignal | undefined): Promise<void> => {
      const proc = spawnManaged({
        name: 'kube-apiserver',
        command: bins.apiserver,
        args: apiserverArgs,
        logFile: logFiles.apiserver,
        // With watchers connected (the controller-manager, an operator under test) a SIGTERMed apiserver waits for
        // them well past any useful time; etcd is consistent at every point, so cut that wait short.
        graceSeconds: 2,
      });
      procs.apiserver = proc;
      await waitUntil(
        `kube-apiserver on ${server}`,
        async (as) => {
          const ready = await httpGet(`${server}/readyz`, { tls: adminTls, signal: as });
          if (ready.status !== 200) return false;
          // The apiserver creates `default` just after it reports ready.
          return (await httpGet(`${server}/api/v1/namespaces/default`, { tls: adminTls, signal: as })).status === 200;
        },
        { timeoutMs, signal: s, process: proc, intervalMs: 200 },
      );
    };
    await startApiServer(signal);

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeKubeconfig(kubeconfigPath, server, caCertificate, 'admin', {
      'client-certificate-data': b64(readFileSync(admin.certPath)),
      'client-key-data': b64(readFileSync(admin.keyPath)),
    });

    const kubectl = (args: readonly string[], kopts: KubectlOptions = {}): Promise<CommandResult> =>
      runCommand(bins.kubectl, ['--kubeconfig', kopts.kubeconfig ?? kubeconfigPath, ...args], {
        ...(kopts.input !== undefined ? { input: kopts.input } : {}),
        signal: kopts.signal,
        // kubectl caches discovery per server URL; random ports would fill ~/.kube/cache with dead entries.
        env: { KUBECACHEDIR: join(dir, 'kubectl-cache') },
        ...(kopts.allowFailure ? { allowFailure: true } : {}),
      });

    if (bins.controllerManager && cm && logFiles.controllerManager) {
      const cmKubeconfig = join(dir, 'controller-manager.kubeconfig');
      writeKubeconfig(cmKubeconfig, server, caCertificate, 'system:kube-controller-manager', {
        'client-certificate-data': b64(readFileSync(cm.certPath)),
        'client-key-data': b64(readFileSync(cm.keyPath)),
      });
      const proc = spawnManaged({
        name: 'kube-controller-manager',
        command: bins.controllerManager,
        args: [
          `--kubeconfig=${cmKubeconfig}`,
          `--controllers=${(opts.controllers ?? ['garbagecollector', 'namespace', 'serviceaccount']).join(',')}`,
          // For the root-ca-certificate-publisher (kube-root-ca.crt, which every projected token volume mounts).
          `--root-ca-file=${ca.certPath}`,
          '--leader-elect=false',
          '--use-service-account-credentials=false',
          // No serving endpoint: nothing scrapes it, and it would need another port.
          '--secure-port=0',
        ],
        logFile: logFiles.controllerManager,
      });
      procs.cm = proc;
      // The serviceaccount controller creating default/default proves the manager is connected and syncing.
      await waitUntil(
        'kube-controller-manager (default ServiceAccount)',
        async (s) =>
          (await httpGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, { tls: adminTls, signal: s }))
            .status === 200,
        { timeoutMs, signal, process: proc, intervalMs: 200 },
      );
    }

    return {
      server,
      kubeconfigPath,
      caCertificate,
      dir,
      logFiles,
      kubectl,
      kubeConfig() {
        const kc = new KubeConfig();
        kc.loadFromFile(kubeconfigPath);
        return kc;
      },
      async serviceAccountKubeconfig(namespace, name, saOpts = {}) {
        const token = (
          await kubectl(['create', 'token', name, '-n', namespace, '--duration=1h'], {
            ...(saOpts.signal ? { signal: saOpts.signal } : {}),
          })
        ).stdout.trim();
        const path = join(dir, `sa-${namespace}-${name}.kubeconfig`);
        writeKubeconfig(path, server, caCertificate, `system:serviceaccount:${namespace}:${name}`, { token });
        return path;
      },
      async restartApiServer(ropts = {}) {
        await procs.apiserver?.stop();
        await startApiServer(ropts.signal);
      },
      stop,
    };
  } catch (err) {
    const logs = [logFiles.etcd, logFiles.apiserver].map((f) => tailFile(f, 200)).join('\n');
    await stop();
    if (logs.includes('address already in use')) {
      throw new Error('control plane: address already in use', { cause: err });
    }
    throw err;
  }
}

function writeKubeconfig(
  path: string,
  server: string,
  caPem: string,
  user: string,
  credentials: Readonly<Record<string, string>>,
): void {
  // JSON is YAML: kubectl and client-node read it as a kubeconfig.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sftpgate-test', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: user, user: credentials }],
    contexts: [{ name: 'sftpgate-test', context: { cluster: 'sftpgate-test', user, namespace: 'default' } }],
    'current-context': 'sftpgate-test',
  };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

function b64(data: string | Buffer): string {
  return Buffer.from(data).toString('base64');
}

/** /dev/shm when it is there (tmpfs on Linux), else the normal temp dir. */
function shmParent(): string | undefined {
  try {
    mkdirSync('/dev/shm', { recursive: true });
    return '/dev/shm';
  } catch {
    return undefined;
  }
}
