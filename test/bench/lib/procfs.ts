// CPU time and memory of a server's whole process tree, read from /proc (Linux only).
//
// sshd forks a monitor and a privilege-separated child per connection, and those exit when the connection closes:
// their CPU time then moves into the parent's cutime/cstime once it reaps them. So the tree total is
// utime+stime+cutime+cstime summed over the live processes under the root: a finished child is counted either
// live (zombie stats are kept until reaped) or in its parent's c-times, never twice and never lost.

import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times. 100 on every Linux we run (`getconf CLK_TCK`). */
const CLK_TCK = 100;

interface StatLine {
  readonly pid: number;
  readonly ppid: number;
  /** utime + cutime, in ticks. */
  readonly userTicks: number;
  /** stime + cstime, in ticks. */
  readonly systemTicks: number;
  /** cutime + cstime alone: reaped children, in ticks. */
  readonly reapedTicks: number;
}

/** Parses /proc/<pid>/stat text. The command name (field 2) may hold spaces and parentheses: split after the last `)`. */
export function parseStat(text: string): StatLine | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  // After ") ": field 3 (state) is index 0, so field n is index n - 3.
  const f = text
    .slice(close + 2)
    .trim()
    .split(' ');
  const field = (n: number) => Number(f[n - 3]);
  const userTicks = field(14) + field(16);
  const systemTicks = field(15) + field(17);
  if (!Number.isFinite(pid) || !Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) return undefined;
  return { pid, ppid: field(4), userTicks, systemTicks, reapedTicks: field(16) + field(17) };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // The process exited between listing and reading.
    return undefined;
  }
}

function allStats(): StatLine[] {
  const out: StatLine[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const text = readText(`/proc/${name}/stat`);
    const s = text === undefined ? undefined : parseStat(text);
    if (s) out.push(s);
  }
  return out;
}

/** The pids of `root` and every live descendant. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const s of allStats()) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

export interface CpuTimes {
  readonly user: number;
  readonly system: number;
}

/** CPU-seconds (reaped children included) of `root`'s whole tree so far, user and system apart. */
export function treeCpu(root: number): CpuTimes {
  const stats = allStats();
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const children = new Map<number, number[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  let user = 0;
  let system = 0;
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    user += byPid.get(pid)?.userTicks ?? 0;
    system += byPid.get(pid)?.systemTicks ?? 0;
    queue.push(...(children.get(pid) ?? []));
  }
  return { user: user / CLK_TCK, system: system / CLK_TCK };
}

/** A `kB` field of /proc/<pid>/status (VmRSS, VmHWM) in bytes; 0 when absent (zombies, kernel threads). */
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const text = readText(`/proc/${pid}/status`);
  const m = text?.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m?.[1] === undefined ? 0 : Number(m[1]) * 1024;
}

/** Resident bytes of the whole tree now. */
export function treeRssBytes(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) sum += statusBytes(pid, 'VmRSS');
  return sum;
}

/**
 * Polls the tree's summed RSS until stop(); stop() returns the peak seen. Summed RSS counts pages shared between
 * sshd's forked processes once per process — an upper bound, which is the safe side for a memory comparison.
 * The tree is re-listed every 5th poll only: walking all of /proc every 100 ms would itself load the 2-core machine.
 */
export function pollPeakRss(root: number, intervalMs = 100): { stop(): number } {
  let pids = processTree(root);
  let polls = 0;
  const sample = () => pids.reduce((sum, pid) => sum + statusBytes(pid, 'VmRSS'), 0);
  let peak = sample();
  const timer = setInterval(() => {
    if (++polls % 5 === 0) pids = processTree(root);
    peak = Math.max(peak, sample());
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      pids = processTree(root);
      peak = Math.max(peak, sample());
      return peak;
    },
  };
}

/** The first process whose command line contains `needle` (e.g. MinIO's unique data dir); undefined if none. */
export function findPid(needle: string): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmd = readText(`/proc/${name}/cmdline`)?.replaceAll('\0', ' ');
    if (cmd?.includes(needle) && !cmd.startsWith('bash ')) return Number(name);
  }
  return undefined;
}

/** CPU-seconds of this process's reaped children so far (cutime + cstime of /proc/self/stat). */
export function reapedChildrenCpuSeconds(): number {
  return (parseStat(readFileSync('/proc/self/stat', 'utf8'))?.reapedTicks ?? 0) / CLK_TCK;
}

/**
 * The first process in `root`'s tree (breadth first) whose name (/proc/<pid>/comm) starts with `comm`; undefined if
 * none. A prefix because Node 26 names its main thread `node-MainThread`.
 */
export function findInTree(root: number, comm: string): number | undefined {
  return processTree(root).find((pid) => readText(`/proc/${pid}/comm`)?.startsWith(comm));
}
