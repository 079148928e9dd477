// Belt and braces behind the guard: find and kill test-bed processes whose owner is gone, and remove their temp dirs
// and port reservations. Every test-bed process carries SFTPGATE_TESTBED_OWNER=<owner pid> in its environment.

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readClusterRecord, removeClusterHost } from './cluster-host.ts';
import { isAlive } from './ports.ts';
import { OWNER_ENV, OWNER_FILE, TEMP_PREFIX } from './process.ts';

export interface TestbedProcess {
  readonly pid: number;
  readonly owner: number;
  readonly cmdline: string;
}

/** Every live process marked as ours (readable /proc entries only; other users' processes are invisible). */
export function findTestbedProcesses(): TestbedProcess[] {
  const out: TestbedProcess[] = [];
  const marker = `${OWNER_ENV}=`;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let environ: string;
    let cmdline: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
    } catch {
      continue; // Gone meanwhile, or not ours to read.
    }
    const owner = environ
      .split('\0')
      .find((kv) => kv.startsWith(marker))
      ?.slice(marker.length);
    if (owner === undefined || cmdline === '') continue; // cmdline is empty for zombies.
    out.push({ pid, owner: Number(owner), cmdline });
  }
  return out;
}

export interface ReapResult {
  readonly killed: TestbedProcess[];
  readonly removedDirs: string[];
}

/**
 * Kills (SIGKILL) test-bed processes whose owner is dead — or all of them with `all` — and removes orphaned temp
 * dirs and port reservations. Never touches processes of a live owner unless `all`.
 */
export function reap(opts: { readonly all?: boolean } = {}): ReapResult {
  const orphaned = (owner: number) => opts.all === true || !Number.isInteger(owner) || !isAlive(owner);
  const killed: TestbedProcess[] = [];
  for (const p of findTestbedProcesses()) {
    if (p.owner === process.pid || !orphaned(p.owner)) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
      killed.push(p);
    } catch {
      // Already gone.
    }
  }
  const removedDirs: string[] = [];
  // etcd keeps its data on tmpfs (control-plane.ts), everything else under the temp dir.
  const parents = process.env['SFTPGATE_TESTBED_TMPDIR']
    ? [process.env['SFTPGATE_TESTBED_TMPDIR']]
    : [tmpdir(), '/dev/shm'];
  for (const parent of parents) removedDirs.push(...reapDirs(parent, orphaned));
  return { killed, removedDirs };
}

function reapDirs(parent: string, orphaned: (owner: number) => boolean): string[] {
  const removedDirs: string[] = [];
  for (const name of safeReaddir(parent)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const dir = join(parent, name);
    if (name === `${TEMP_PREFIX}ports`) {
      for (const port of safeReaddir(dir)) {
        const owner = readPid(join(dir, port));
        if (owner !== undefined && owner !== process.pid && orphaned(owner)) rmSync(join(dir, port), { force: true });
      }
      continue;
    }
    const owner = readPid(join(dir, OWNER_FILE));
    if (owner === undefined || owner === process.pid || !orphaned(owner)) continue;
    rmSync(dir, { recursive: true, force: true });
    removedDirs.push(dir);
  }
  return removedDirs;
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Undoes what test clusters (cluster.ts) of dead owners — or all, with `all` — left on the machine outside their temp
 * dirs: container processes, shims, mounts, pod and cluster network namespaces, routes, cgroups. Run before reap(),
 * which removes the temp dirs holding the records. Returns the cluster dirs cleaned.
 */
export async function reapClusters(opts: { readonly all?: boolean } = {}): Promise<string[]> {
  const cleaned: string[] = [];
  for (const name of safeReaddir(tmpdir())) {
    if (!name.startsWith(`${TEMP_PREFIX}cluster-`)) continue;
    const dir = join(tmpdir(), name);
    const owner = readPid(join(dir, OWNER_FILE));
    if (owner === process.pid || (owner !== undefined && isAlive(owner) && opts.all !== true)) continue;
    const record = readClusterRecord(dir);
    if (!record) continue;
    await removeClusterHost(record);
    cleaned.push(dir);
  }
  return cleaned;
}
