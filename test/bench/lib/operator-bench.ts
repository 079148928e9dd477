// Helpers the operator benches share: a bounded-concurrency loop, a process's CPU time (procfs.ts), and the
// ServiceAccount identities the operator and the bench's creator run as.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { KubeClient } from '../../../operator/src/runtime/kube-client.ts';
import { OPERATOR_NS, repoRoot, type TestBed } from '../../integration/operator-harness.ts';
import { findPid, treeCpu } from './procfs.ts';

/** Runs `fn` over `items`, at most `concurrency` at a time. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

/** CPU-seconds (user + system) process `pid` has used so far. */
export function cpuSeconds(pid: number): number {
  const t = treeCpu(pid);
  return t.user + t.system;
}

/** The test bed's kube-apiserver process (found by its cert dir under the control plane's dir). */
export function apiServerPid(controlPlaneDir: string): number {
  const pid = findPid(`--cert-dir=${controlPlaneDir}/apiserver-certs`);
  if (pid === undefined) throw new Error('kube-apiserver process not found');
  return pid;
}

/** The test bed's processes whose CPU the operator benches report: kube-apiserver, etcd, MinIO. */
export function testBedPids(controlPlaneDir: string, minioDataDir: string): Record<string, number> {
  const apiserver = apiServerPid(controlPlaneDir);
  const cmdline = readFileSync(`/proc/${apiserver}/cmdline`, 'utf8').split('\0');
  const etcdUrl = cmdline.find((a) => a.startsWith('--etcd-servers='))?.slice('--etcd-servers='.length);
  return {
    apiserver,
    etcd: (etcdUrl && findPid(`--listen-client-urls=${etcdUrl}`)) || 0,
    minio: findPid(minioDataDir) ?? 0,
  };
}

interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Applies Kubernetes objects (JSON) with the test bed's admin kubectl. */
async function kubectlApply(bed: TestBed, objects: object[]): Promise<void> {
  await bed.cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  });
}

/** A ServiceAccount bound to `clusterRules` cluster-wide and `namespaceRules` in its own namespace. */
async function serviceAccountWith(
  bed: TestBed,
  namespace: string,
  name: string,
  clusterRules: RbacRule[],
  namespaceRules: RbacRule[],
): Promise<string> {
  const subjects = [{ kind: 'ServiceAccount', name, namespace }];
  const rbac = 'rbac.authorization.k8s.io/v1';
  await kubectlApply(bed, [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
    ...(clusterRules.length > 0
      ? [
          { apiVersion: rbac, kind: 'ClusterRole', metadata: { name }, rules: clusterRules },
          {
            apiVersion: rbac,
            kind: 'ClusterRoleBinding',
            metadata: { name },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
            subjects,
          },
        ]
      : []),
    { apiVersion: rbac, kind: 'Role', metadata: { name, namespace }, rules: namespaceRules },
    {
      apiVersion: rbac,
      kind: 'RoleBinding',
      metadata: { name, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects,
    },
  ]);
  return bed.cp.serviceAccountKubeconfig(namespace, name);
}

/**
 * The operator's ServiceAccount in the operator's namespace with exactly the chart's RBAC (cluster and platform
 * rules cluster-wide, the operator-namespace and leader-election rules in its namespace); returns a kubeconfig.
 */
export function operatorServiceAccount(bed: TestBed): Promise<string> {
  const rules = parseYaml(readFileSync(join(repoRoot, 'charts/sftpgate/files/rbac-rules.yaml'), 'utf8')) as Record<
    'clusterRules' | 'platformRules' | 'operatorNamespaceRules' | 'leaderElectionRules',
    RbacRule[]
  >;
  return serviceAccountWith(
    bed,
    OPERATOR_NS,
    'sftpgate-operator',
    [...rules.clusterRules, ...rules.platformRules],
    [...rules.operatorNamespaceRules, ...rules.leaderElectionRules],
  );
}

/** A client as a ServiceAccount of `namespace` that may create, read and delete SftpUsers there (a CI pipeline). */
export async function creatorClient(bed: TestBed, namespace: string): Promise<KubeClient> {
  const path = await serviceAccountWith(
    bed,
    namespace,
    'bench-creator',
    [],
    [{ apiGroups: ['sftpgate.io'], resources: ['sftpusers'], verbs: ['create', 'delete', 'get', 'list', 'watch'] }],
  );
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return new KubeClient(kc);
}
