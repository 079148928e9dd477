// A real single-node Kubernetes cluster for end-to-end tests and `make demo`: the control plane of control-plane.ts
// (etcd, kube-apiserver, kube-controller-manager) plus kube-scheduler on the host, and containerd, kubelet and
// kube-proxy inside the cluster's own network namespace (cluster-host.ts), with the project's images built from its
// Dockerfile (images.ts) and imported into containerd. Pods reach kube-apiserver and MinIO on the host end of the
// namespace's veth; tests reach NodePorts on the node address. Nothing routes beyond this machine. docs/testbed.md.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cniConfig,
  containerdConfig,
  kubeletConfig,
  kubeProxyConfig,
  type NodeLayout,
  paths,
} from './cluster-config.ts';
import { type ClusterHost, createClusterHost, removeClusterHost } from './cluster-host.ts';
import { type ControlPlane, startControlPlane } from './control-plane.ts';
import { abortedError } from './errors.ts';
import { type BuiltImages, buildImages, pauseImage } from './images.ts';
import {
  type CommandResult,
  type ManagedProcess,
  makeTempDir,
  removeTempDir,
  runCommand,
  spawnManaged,
  stopOnAbort,
  waitUntil,
} from './process.ts';
import { toolPath } from './tools.ts';

/** kube-controller-manager's controllers a workload needs (Deployments, Services, tokens, GC, node taints). */
const CONTROLLERS = [
  'garbagecollector',
  'namespace',
  'serviceaccount',
  'deployment-controller',
  'replicaset-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'root-ca-certificate-publisher-controller',
  'node-lifecycle-controller',
  'pod-garbage-collector-controller',
  'disruption-controller',
];

export interface StartClusterOptions {
  readonly signal?: AbortSignal;
  /** Default 300 s: a cold machine imports images and starts the first pods slowly. */
  readonly startupTimeoutMs?: number;
  /** Build and import the project's images (default true). */
  readonly images?: boolean;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface Cluster {
  readonly kube: ControlPlane;
  readonly host: ClusterHost;
  /** The node address: NodePorts answer here, from this machine. */
  readonly nodeIp: string;
  /** The host end of the veth: bind servers here (MinIO) to make them reachable from pods. */
  readonly hostIp: string;
  readonly nodeName: string;
  /** The project's images in the node's containerd (absent with images: false). */
  readonly images?: BuiltImages;
  readonly dir: string;
  readonly logFiles: Readonly<Record<string, string>>;
  kubectl(
    args: readonly string[],
    opts?: { readonly input?: string; readonly allowFailure?: boolean },
  ): Promise<CommandResult>;
  /** Idempotent: deletes the pods, stops every process and undoes every change on the machine. */
  stop(): Promise<void>;
}

export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  const signal = opts.signal;
  const log = opts.log ?? (() => {});
  if (signal?.aborted) throw abortedError('start cluster', signal);
  const timeoutMs = opts.startupTimeoutMs ?? 300_000;
  const bins = {
    kubelet: toolPath('kubelet'),
    scheduler: toolPath('kube-scheduler'),
    proxy: toolPath('kube-proxy'),
  };
  const imagesReady = opts.images === false ? undefined : buildImages(signal ? { signal } : {});
  // Keep an image build failure from surfacing as an unhandled rejection while the rest starts.
  imagesReady?.catch(() => {});

  const dir = makeTempDir('cluster');
  const p = paths(dir);
  for (const d of [p.cniConfDir, p.cniDataDir, p.kubeletRoot, p.podLogs, join(dir, 'containerd')]) {
    mkdirSync(d, { recursive: true });
  }
  const procs: ManagedProcess[] = [];
  let host: ClusterHost | undefined;
  let kube: ControlPlane | undefined;
  const logFiles: Record<string, string> = {};
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      detach();
      // Pods first, through the kubelet, so the CRI tears their sandboxes and networks down properly.
      if (kube && procs.length > 0) {
        await kube
          .kubectl(['delete', 'pods', '--all', '--all-namespaces', '--grace-period=0', '--force', '--wait=false'], {
            allowFailure: true,
          })
          .catch(() => undefined);
      }
      for (const proc of procs.splice(0).reverse()) await proc.stop();
      if (host) await removeClusterHost(host);
      await kube?.stop();
      removeTempDir(dir);
    })();
    return stopping;
  };
  const detach = stopOnAbort(signal, stop);

  try {
    host = await createClusterHost(dir, p.containerdSocket);
    const h = host;
    const nodeName = `node-${h.slot}`;
    log(`network namespace ${h.name}: host ${h.hostIp}, node ${h.nodeIp}, pods ${h.podCidr}`);
    kube = await startControlPlane({
      controllerManager: true,
      controllers: CONTROLLERS,
      address: h.hostIp,
      // The `kubernetes` Service must lead to kube-apiserver for pods (through kube-proxy).
      extraApiServerArgs: ['--endpoint-reconciler-type=lease'],
      startupTimeoutMs: timeoutMs,
      ...(signal ? { signal } : {}),
    });
    const k = kube;
    log(`control plane at ${k.server}`);
    const layout: NodeLayout = {
      dir,
      nodeName,
      nodeIp: h.nodeIp,
      podCidr: h.podCidr,
      cgroupRoot: h.cgroupRoot,
      sandboxImage: pauseImage().ref,
      kubeconfig: k.kubeconfigPath,
      clusterCaFile: join(k.dir, 'pki', 'ca.crt'),
    };
    writeFileSync(p.containerdConfig, containerdConfig(layout));
    writeFileSync(join(p.cniConfDir, '10-sftpgate.conflist'), cniConfig(layout));
    writeFileSync(p.kubeletConfig, kubeletConfig(layout));
    writeFileSync(p.kubeProxyConfig, kubeProxyConfig(layout));
    writeFileSync(p.resolvConf, '');

    const inNetns = (name: string, command: string, args: readonly string[], graceSeconds = 5): ManagedProcess => {
      logFiles[name] = join(dir, `${name}.log`);
      const proc = spawnManaged({
        name,
        command: 'nsenter',
        args: [`--net=${h.netnsPath}`, '--', command, ...args],
        logFile: logFiles[name],
        graceSeconds,
      });
      procs.push(proc);
      return proc;
    };

    logFiles['kube-scheduler'] = join(dir, 'kube-scheduler.log');
    const scheduler = spawnManaged({
      name: 'kube-scheduler',
      command: bins.scheduler,
      args: [`--kubeconfig=${k.kubeconfigPath}`, '--leader-elect=false', '--secure-port=0', '--v=1'],
      logFile: logFiles['kube-scheduler'],
    });
    procs.push(scheduler);

    const containerd = inNetns('containerd', 'containerd', [`--config=${p.containerdConfig}`, '--log-level=warn']);
    const ctr = (args: readonly string[]) =>
      runCommand('ctr', ['--address', p.containerdSocket, '--namespace', 'k8s.io', ...args], {
        timeoutMs: 300_000,
        ...(signal ? { signal } : {}),
      });
    await waitUntil('containerd', async () => await ctr(['version']).then(() => true), {
      timeoutMs: 60_000,
      process: containerd,
      signal,
      intervalMs: 200,
    });
    await ctr(['images', 'import', pauseImage().archive]);
    log('containerd ready, sandbox image imported');

    const kubelet = inNetns(
      'kubelet',
      bins.kubelet,
      [
        `--config=${p.kubeletConfig}`,
        `--kubeconfig=${k.kubeconfigPath}`,
        `--root-dir=${p.kubeletRoot}`,
        `--cert-dir=${join(dir, 'kubelet-pki')}`,
        `--hostname-override=${nodeName}`,
        `--node-ip=${h.nodeIp}`,
        '--v=1',
      ],
      10,
    );
    const proxy = inNetns('kube-proxy', bins.proxy, [`--config=${p.kubeProxyConfig}`, '--v=1']);

    let images: BuiltImages | undefined;
    if (imagesReady) {
      const t0 = performance.now();
      images = await imagesReady;
      log(
        `images ${images.built ? 'built' : 'reused'} (${images.tag}) in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
      for (const archive of images.archives) await ctr(['images', 'import', archive]);
      log('images imported into containerd');
    }

    await waitUntil(
      `node ${nodeName} Ready`,
      async () => {
        const res = await k.kubectl(
          ['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'],
          { allowFailure: true },
        );
        return res.stdout.trim() === 'True';
      },
      { timeoutMs, signal, process: kubelet, intervalMs: 500 },
    );
    if (proxy.exitStatus) throw new Error(`kube-proxy exited: ${proxy.logTail()}`);
    log(`node ${nodeName} Ready`);

    return {
      kube: k,
      host: h,
      nodeIp: h.nodeIp,
      hostIp: h.hostIp,
      nodeName,
      ...(images ? { images } : {}),
      dir,
      logFiles: { ...logFiles, ...k.logFiles },
      kubectl: (args, kopts = {}) => k.kubectl(args, kopts),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
