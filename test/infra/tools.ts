// Paths of the cached test components, derived from the pins in install/versions.env — the same file the install
// scripts read, so a moved pin can never leave the launchers pointing at a stale build.

import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { TestbedError, TestbedErrorCode } from './errors.ts';

const VERSIONS_FILE = new URL('./install/versions.env', import.meta.url).pathname;

/** The pins of install/versions.env (KEY=VALUE lines; quotes stripped; comments and blanks skipped). */
export function readVersions(file = VERSIONS_FILE): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out[line.slice(0, eq)] = line.slice(eq + 1).replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

/** Same rule as install/common.sh: SFTPGATE_CACHE, else $XDG_CACHE_HOME/sftpgate, else ~/.cache/sftpgate. */
export function cacheRoot(): string {
  const env = process.env;
  return env['SFTPGATE_CACHE'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'sftpgate');
}

/** Every binary the test bed runs, by name. */
export type ToolName =
  | 'minio'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kubelet'
  | 'kube-scheduler'
  | 'kube-proxy'
  | 'etcd'
  | 'promtool'
  | 'rclone'
  | 'sshd'
  | 'sftp-server'
  | 'helm'
  | 'moto_server'
  | 'kubectl';

function pin(versions: Readonly<Record<string, string>>, key: string): string {
  const v = versions[key];
  if (!v) throw new TestbedError(TestbedErrorCode.ToolMissing, `${VERSIONS_FILE} has no ${key}`);
  return v;
}

/** The cache dir (holding bin/ and .complete) that the install script for `tool` fills. Undefined for PATH tools. */
export function toolDir(tool: ToolName): string | undefined {
  const v = readVersions();
  const root = cacheRoot();
  switch (tool) {
    case 'minio':
      return join(root, `minio-${pin(v, 'MINIO_VERSION')}`);
    case 'kube-apiserver':
    case 'kube-controller-manager':
      return join(root, `kubernetes-${pin(v, 'KUBERNETES_VERSION')}`);
    case 'kubelet':
    case 'kube-scheduler':
    case 'kube-proxy':
      return join(root, `kubernetes-node-${pin(v, 'KUBERNETES_VERSION')}`);
    case 'etcd':
    case 'promtool':
    case 'rclone':
    case 'sshd':
    case 'sftp-server':
      return join(root, 'debian-bookworm');
    case 'helm':
      return join(root, `helm-${pin(v, 'HELM_VERSION')}`);
    case 'moto_server':
      return join(root, `moto-${pin(v, 'MOTO_VERSION')}`);
    case 'kubectl':
      return undefined;
  }
}

/**
 * Absolute path of an installed tool. Throws ToolMissing (telling to run `make tools`) when its install did not
 * complete. kubectl comes from PATH (the machine's own, as the issue asks), else from the Kubernetes build.
 */
export function toolPath(tool: ToolName): string {
  if (tool === 'kubectl') {
    // The machine's own kubectl first; the one built beside kube-apiserver where a machine has none.
    try {
      return findOnPath(tool);
    } catch {
      return toolPath('kube-apiserver').replace(/kube-apiserver$/, 'kubectl');
    }
  }
  const dir = toolDir(tool);
  if (dir === undefined) return findOnPath(tool);
  const bin = join(dir, 'bin', tool);
  if (!existsSync(join(dir, '.complete')) || !isExecutable(bin)) {
    throw new TestbedError(
      TestbedErrorCode.ToolMissing,
      `${tool} is not installed at ${bin}: run \`make tools\` (builds and caches every test component; ` +
        'a warm cache returns in seconds)',
    );
  }
  return bin;
}

function findOnPath(tool: string): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, tool);
    if (isExecutable(candidate)) return candidate;
  }
  throw new TestbedError(TestbedErrorCode.ToolMissing, `${tool} is not on PATH: run \`make tools\``);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
