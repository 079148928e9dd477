// What the test cluster changes on the machine, made and undone in one place: a network namespace with a veth pair
// to the host and a route to the pods, a cgroup root in every v1 hierarchy, and — at teardown — the processes, shims,
// mounts and pod network namespaces its containerd left behind. Each cluster takes a free slot (0-199) so two clusters
// never share a name, an address range or a cgroup. A record in the cluster's temp dir lets the reaper undo it all
// for a cluster whose owner died (reap.ts).

import { readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand } from './process.ts';

export const CLUSTER_RECORD = 'cluster-host.json';

export interface ClusterHost {
  readonly slot: number;
  /** Network namespace name, also the cgroup root name: sftpgate-c<slot>. */
  readonly name: string;
  readonly netnsPath: string;
  /** The host's end of the veth (kube-apiserver, MinIO and the scheduler bind or are reached here). */
  readonly hostIp: string;
  /** The namespace's end: the node address. */
  readonly nodeIp: string;
  readonly podCidr: string;
  /** e.g. /sftpgate-c7 */
  readonly cgroupRoot: string;
  /** The containerd socket whose shims and pod namespaces teardown collects. */
  readonly containerdSocket: string;
  /** The cluster's temp dir (mounts under it are undone at teardown). */
  readonly dir: string;
}

const ip = (args: readonly string[], allowFailure = false) => runCommand('ip', args, { allowFailure });

/** Addresses of a slot. Pure. */
export function slotAddresses(slot: number): { hostIp: string; nodeIp: string; podCidr: string } {
  return { hostIp: `10.243.${slot}.1`, nodeIp: `10.243.${slot}.2`, podCidr: `10.244.${slot}.0/24` };
}

/** Creates the namespace, veth, route and cgroups in the first free slot; records them in `dir`. */
export async function createClusterHost(dir: string, containerdSocket: string): Promise<ClusterHost> {
  const start = Math.floor(Math.random() * 200);
  for (let i = 0; i < 200; i++) {
    const slot = (start + i) % 200;
    const name = `sftpgate-c${slot}`;
    // `ip netns add` fails when the name exists: that is the slot lock (a dead owner's slot is freed by the reaper).
    if ((await ip(['netns', 'add', name], true)).code !== 0) continue;
    const host: ClusterHost = {
      slot,
      name,
      netnsPath: `/run/netns/${name}`,
      ...slotAddresses(slot),
      cgroupRoot: `/${name}`,
      containerdSocket,
      dir,
    };
    writeFileSync(join(dir, CLUSTER_RECORD), `${JSON.stringify(host)}\n`);
    try {
      await setUp(host);
    } catch (err) {
      await removeClusterHost(host);
      throw err;
    }
    return host;
  }
  throw new Error('no free test-cluster slot (200 network namespaces sftpgate-c* exist)');
}

async function setUp(h: ClusterHost): Promise<void> {
  const hv = `sgc${h.slot}h`;
  const nv = `sgc${h.slot}n`;
  await ip(['link', 'add', hv, 'type', 'veth', 'peer', 'name', nv]);
  await ip(['link', 'set', nv, 'netns', h.name]);
  await ip(['addr', 'add', `${h.hostIp}/30`, 'dev', hv]);
  await ip(['link', 'set', hv, 'up']);
  await ip(['-n', h.name, 'addr', 'add', `${h.nodeIp}/30`, 'dev', nv]);
  await ip(['-n', h.name, 'link', 'set', nv, 'up']);
  await ip(['-n', h.name, 'link', 'set', 'lo', 'up']);
  // Replies to pods (which talk to kube-apiserver and MinIO on hostIp) go back into the namespace.
  await ip(['route', 'add', h.podCidr, 'via', h.nodeIp, 'dev', hv]);
  // Per-namespace sysctls: forwarding between the veth and the pod bridge, and bridged traffic through iptables
  // (kube-proxy's rules for pod-to-service-to-pod). The host's own settings are not touched.
  await runCommand('nsenter', [`--net=${h.netnsPath}`, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  await runCommand('nsenter', [`--net=${h.netnsPath}`, 'sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=1'], {
    allowFailure: true,
  });
  for (const hierarchy of cgroupHierarchies()) {
    const path = join(hierarchy, h.name);
    await runCommand('mkdir', ['-p', path]);
    if (hierarchy.endsWith('/cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        writeFileSync(join(path, f), readFileSync(join(hierarchy, f), 'utf8').trim() || '0');
      }
    }
  }
}

/**
 * Mount points of the cgroup hierarchies: every v1 one (cpu, memory, pids, name=systemd, ...) and, on a hybrid host,
 * the v2 `unified` one, where runc mirrors each container's cgroup too.
 */
export function cgroupHierarchies(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(' - cgroup ') || l.includes(' - cgroup2 '))
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith('/sys/fs/cgroup/'));
}

function cgroupDirsDeepestFirst(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e);
      try {
        if (statSync(p).isDirectory()) walk(p);
      } catch {
        // Gone meanwhile.
      }
    }
    out.push(d);
  };
  walk(root);
  return out;
}

function pidsIn(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Kills every process in the cluster's cgroups (the containers) and removes the cgroups. Never throws. */
async function removeCgroups(name: string): Promise<void> {
  const roots = cgroupHierarchies().map((h) => join(h, name));
  for (let attempt = 0; attempt < 50; attempt++) {
    let alive = 0;
    for (const root of roots) {
      for (const d of cgroupDirsDeepestFirst(root)) {
        for (const pid of pidsIn(d)) {
          alive++;
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Gone.
          }
        }
      }
    }
    if (alive === 0) break;
    await sleep(100);
  }
  for (const root of roots) {
    for (const d of cgroupDirsDeepestFirst(root)) {
      try {
        rmdirSync(d);
      } catch {
        // Busy or gone: the reaper tries again.
      }
    }
  }
}

/** Shims of this containerd (they outlive it on purpose): their command line names its socket. */
function shimPids(socket: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      if (argv[0]?.endsWith('containerd-shim-runc-v2') && argv.includes(socket)) out.push(pid);
    } catch {
      // Gone.
    }
  }
  return out;
}

/** Mount points under `dir`, deepest first (overlay rootfs, shm, kubelet's tmpfs volumes). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Undoes everything createClusterHost and the cluster's node made: container processes, shims, mounts (pod network
 * namespaces among them), the route, the namespace (taking the veth with it), the cgroups. Idempotent; never throws.
 */
export async function removeClusterHost(h: ClusterHost): Promise<void> {
  for (const pid of shimPids(h.containerdSocket)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  await removeCgroups(h.name);
  // Pod network namespaces are mounts under containerd's state dir (netns_mounts_under_state_dir), so they go here.
  for (const m of mountsUnder(h.dir)) await runCommand('umount', ['-l', m], { allowFailure: true });
  await ip(['route', 'del', h.podCidr], true);
  await ip(['link', 'del', `sgc${h.slot}h`], true);
  await ip(['netns', 'del', h.name], true);
}

/** The record a cluster left in its temp dir, if any (for the reaper). */
export function readClusterRecord(dir: string): ClusterHost | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, CLUSTER_RECORD), 'utf8')) as ClusterHost;
  } catch {
    return undefined;
  }
}
