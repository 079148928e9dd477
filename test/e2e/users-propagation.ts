// Shared by the users-propagation test and benchmark: a namespace whose ServiceAccount has exactly the pod's users
// RBAC (get/list/watch on the shard Secrets by name, as operator/src/controllers/sftp-server/desired.ts grants), the
// shard Secret for a list of users, and the time from a write's response to the change being in a pod's store.
import { KubeClient, type KubeObject, Resources } from '../../common/src/kube/kube-client.ts';
import { silentLogger } from '../../common/src/log/logger.ts';
import { startSecretSource } from '../../sftp-pod/src/users/secret-source.ts';
import type { UsersStore } from '../../sftp-pod/src/users/store.ts';
import type { ControlPlane } from '../infra/index.ts';

export interface UsersNamespace {
  readonly namespace: string;
  /** A kubeconfig of the ServiceAccount `sftp-pod`, allowed only what the pod's Role allows. */
  readonly kubeconfig: string;
  /** An admin client for writes. */
  readonly admin: KubeClient;
}

/** Creates the namespace, the ServiceAccount and a Role naming exactly `secrets`; idempotent per control plane. */
export async function usersNamespace(cp: ControlPlane, namespace: string, secrets: string[]): Promise<UsersNamespace> {
  await cp.kubectl(['create', 'namespace', namespace]);
  await cp.kubectl(['-n', namespace, 'create', 'serviceaccount', 'sftp-pod']);
  await cp.kubectl([
    '-n',
    namespace,
    'create',
    'role',
    'users-reader',
    '--verb=get,list,watch',
    '--resource=secrets',
    ...secrets.map((s) => `--resource-name=${s}`),
  ]);
  const binding = ['create', 'rolebinding', 'users-reader', '--role=users-reader'];
  await cp.kubectl(['-n', namespace, ...binding, `--serviceaccount=${namespace}:sftp-pod`]);
  const kubeconfig = await cp.serviceAccountKubeconfig(namespace, 'sftp-pod');
  return { namespace, kubeconfig, admin: new KubeClient(cp.kubeConfig(), { fieldManager: 'sftpgate-test' }) };
}

export interface TestUser {
  readonly username: string;
  readonly disabled?: boolean;
}

/** Writes shard `name` (a one-shard table) holding `users`; resolves when the API server confirmed the write. */
export async function writeUsers(ns: UsersNamespace, name: string, users: readonly TestUser[]): Promise<void> {
  const doc = {
    version: 1,
    shard: 0,
    shards: 1,
    users: users.map((u) => ({ ...u, permissions: ['list', 'download'] })),
  };
  await ns.admin.apply<KubeObject>(Resources.Secret, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns.namespace },
    data: { 'users.json': Buffer.from(JSON.stringify(doc)).toString('base64') },
  });
}

/**
 * Milliseconds from now until `holds(store)` is true, per store (the store's change listener, not polling); rejects
 * after `timeoutMs`. Call before the write, await after it.
 */
export function whenApplied(
  stores: readonly UsersStore[],
  holds: (store: UsersStore) => boolean,
  timeoutMs = 30_000,
): () => Promise<number[]> {
  const start = performance.now();
  const waits = stores.map(
    (store) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`change not applied within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = (): void => {
          if (!holds(store)) return;
          clearTimeout(timer);
          off();
          resolve(performance.now() - start);
        };
        const off = store.onChange(check);
      }),
  );
  return () => Promise.all(waits);
}

/**
 * Starts one users source per store (one per simulated pod, each with its own API connection and the pod's RBAC) on
 * shard 0 `shard0`, watches living as long as the API server's --min-request-timeout says; `onWatch` counts the
 * watches they open. Resolves once every store holds the first table.
 */
export async function startUsersSources(
  ns: UsersNamespace,
  shard0: string,
  stores: readonly UsersStore[],
  signal: AbortSignal,
  onWatch?: () => void,
): Promise<void> {
  for (const store of stores) {
    await startSecretSource(
      {
        namespace: ns.namespace,
        shard0,
        store,
        log: silentLogger,
        kubeconfig: ns.kubeconfig,
        // The API server's --min-request-timeout sets each watch's lifetime: the test and the benchmark shorten it.
        watchTimeoutSeconds: null,
        ...(onWatch !== undefined && { onWatch }),
      },
      signal,
    );
  }
}
