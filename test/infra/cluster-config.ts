// The node side of the test cluster as configuration: containerd, CNI, kubelet and kube-proxy files. Pure builders
// (unit-tested in cluster-config.test.ts); cluster.ts writes them and starts the processes.

export interface NodeLayout {
  /** The cluster's temp dir; every path below lives under it. */
  readonly dir: string;
  readonly nodeName: string;
  /** The node's address inside the cluster's network namespace (kubelet --node-ip, NodePorts). */
  readonly nodeIp: string;
  /** Pod addresses (one /24 per cluster, routed from the host to nodeIp). */
  readonly podCidr: string;
  /** The kubelet's cgroup root (cgroupfs driver, cgroup v1), e.g. /sftpgate-c7. */
  readonly cgroupRoot: string;
  readonly sandboxImage: string;
  readonly kubeconfig: string;
  readonly clusterCaFile: string;
}

export const paths = (dir: string) =>
  ({
    containerdRoot: `${dir}/containerd/root`,
    containerdState: `${dir}/containerd/state`,
    containerdSocket: `${dir}/containerd/containerd.sock`,
    containerdConfig: `${dir}/containerd/config.toml`,
    cniConfDir: `${dir}/cni/net.d`,
    cniDataDir: `${dir}/cni/ipam`,
    kubeletRoot: `${dir}/kubelet`,
    kubeletConfig: `${dir}/kubelet.yaml`,
    podLogs: `${dir}/pod-logs`,
    resolvConf: `${dir}/resolv.conf`,
    kubeProxyConfig: `${dir}/kube-proxy.yaml`,
  }) as const;

/** containerd 1.6 config: own root/state/socket, CRI with runc (cgroupfs), overlayfs, CNI from the cluster's dirs. */
export function containerdConfig(l: NodeLayout): string {
  const p = paths(l.dir);
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${p.containerdRoot}"
state = "${p.containerdState}"
# Nothing but the CRI and what it needs: no other snapshotters, no /opt plugin dir shared with other instances.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${p.containerdSocket}"

[ttrpc]
  address = ""

[debug]
  address = ""

[metrics]
  address = ""

[${cri}]
  sandbox_image = "${l.sandboxImage}"
  # Images come from \`ctr images import\` only: no registry is reachable from the test bed.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  # This machine refuses lowering oom_score_adj (even to root): clamp to containerd's own, or runc fails every sandbox.
  restrict_oom_score_adj = true
  max_container_log_line_size = 16384
  # Pod network namespaces under the state dir, not the machine-wide /run/netns: teardown finds exactly its own.
  netns_mounts_under_state_dir = true

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
  discard_unpacked_layers = false

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false

[${cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "${p.cniConfDir}"
  max_conf_num = 1
`;
}

/**
 * The pod network: a bridge inside the cluster's network namespace, host-local addresses from the cluster's /24, and
 * no masquerade — pods reach only what the namespace routes (its own addresses and the host side of its veth).
 */
export function cniConfig(l: NodeLayout): string {
  const p = paths(l.dir);
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'sftpgate',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: l.podCidr }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: p.cniDataDir,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/** KubeletConfiguration: cgroupfs under the cluster's own cgroup root, containerd's socket, no DNS, no evictions. */
export function kubeletConfig(l: NodeLayout): string {
  const p = paths(l.dir);
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: l.nodeIp,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    // Reached only by kube-apiserver (logs, exec) from this machine: no client certificate asked.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false }, x509: {} },
    authorization: { mode: 'AlwaysAllow' },
    cgroupDriver: 'cgroupfs',
    cgroupRoot: l.cgroupRoot,
    cgroupsPerQOS: true,
    enforceNodeAllocatable: ['pods'],
    containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
    podLogsDir: p.podLogs,
    // An empty resolv.conf: pods resolve nothing, so no DNS query ever leaves the cluster's namespace.
    resolvConf: p.resolvConf,
    failSwapOn: false,
    failCgroupV1: false,
    // Disk and memory are shared with other tests: never evict or garbage-collect images because of them.
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '0%', 'imagefs.available': '0%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    nodeStatusUpdateFrequency: '2s',
    nodeStatusReportFrequency: '10s',
    syncFrequency: '5s',
    fileCheckFrequency: '5s',
    shutdownGracePeriod: '0s',
    maxPods: 30,
    podPidsLimit: 4096,
    protectKernelDefaults: false,
    localStorageCapacityIsolation: false,
    containerLogMaxSize: '5Mi',
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** KubeProxyConfiguration: iptables mode inside the cluster's namespace, touching no host-wide conntrack setting. */
export function kubeProxyConfig(l: NodeLayout): string {
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig: l.kubeconfig },
    hostnameOverride: l.nodeName,
    bindAddress: l.nodeIp,
    clusterCIDR: l.podCidr,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    // conntrack limits and timeouts are partly machine-wide: leave them as they are.
    conntrack: {
      maxPerCore: 0,
      min: 0,
      tcpEstablishedTimeout: '0s',
      tcpCloseWaitTimeout: '0s',
    },
    iptables: { localhostNodePorts: true, syncPeriod: '5s', minSyncPeriod: '0s' },
    nodePortAddresses: [`${l.nodeIp}/32`],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
