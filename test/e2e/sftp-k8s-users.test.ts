// The in-cluster users source against a real kube-apiserver: a ServiceAccount whose Role names exactly the users
// Secrets (resourceNames), a table sharded over two Secrets, changes applied within seconds, a broken watch (API
// server restart) survived, an invalid shard ignored; and a pod started with --users-secret serving a login.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { parseConfig } from '../../sftp-pod/src/config.ts';
import { type Pod, startPod } from '../../sftp-pod/src/main.ts';
import { MemoryStorage } from '../../sftp-pod/src/sftp/testing/memory-storage.ts';
import { type KeyDir, makeHostKeyDir } from '../../sftp-pod/src/ssh/testing/keys.ts';
import { silentLogger } from '../../sftp-pod/src/telemetry/log.ts';
import { hashPassword } from '../../sftp-pod/src/users/password.ts';
import { startSecretSource } from '../../sftp-pod/src/users/secret-source.ts';
import { UsersStore } from '../../sftp-pod/src/users/store.ts';
import { type ControlPlane, startControlPlane } from '../infra/index.ts';
import { usersNamespace } from './users-propagation.ts';

const NS = 'tenant';
let cp: ControlPlane;
let kubeconfig: string;
let hash: string;
const lifetime = new AbortController();

function shard(n: number, shards: number, users: string[]) {
  return {
    version: 1,
    shard: n,
    shards,
    users: users.map((username) => ({ username, passwordHash: hash, permissions: ['list', 'download'] })),
  };
}

function secretYaml(name: string, doc: unknown): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: NS,
      labels: {
        'app.kubernetes.io/managed-by': 'sftpgate',
        'sftpgate.io/server': 'srv',
        'sftpgate.io/component': 'users',
      },
    },
    data: { 'users.json': Buffer.from(JSON.stringify(doc)).toString('base64') },
  });
}

async function apply(name: string, doc: unknown) {
  await cp.kubectl(['apply', '-f', '-'], { input: secretYaml(name, doc) });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const names = (s: UsersStore, list: string[]) => list.filter((u) => s.get(u) !== undefined).join(',');

before(async () => {
  hash = await hashPassword('pw-for-k8s-test', { ln: 10, r: 8, p: 1 });
  cp = await startControlPlane();
  kubeconfig = (await usersNamespace(cp, NS, ['srv-users-0', 'srv-users-1'])).kubeconfig;
  await apply('srv-users-0', shard(0, 2, ['alice']));
  await apply('srv-users-1', shard(1, 2, ['bob']));
});

after(async () => {
  lifetime.abort();
  await cp?.stop();
});

describe('users from Kubernetes Secrets', () => {
  const store = new UsersStore();

  test('reads shard 0 and the shard it names, with only resourceNames-scoped RBAC', async () => {
    await startSecretSource(
      { namespace: NS, shard0: 'srv-users-0', store, log: silentLogger, kubeconfig },
      lifetime.signal,
    );
    assert.equal(names(store, ['alice', 'bob']), 'alice,bob');
    // The ServiceAccount cannot read other Secrets.
    const other = await cp.kubectl(['-n', NS, 'get', 'secret', 'something-else'], { kubeconfig, allowFailure: true });
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /forbidden/i);
  });

  test('a change to a shard applies within seconds; an invalid shard is ignored', async () => {
    await apply('srv-users-1', shard(1, 2, ['bob', 'carol']));
    await waitFor('carol', () => store.get('carol') !== undefined, 10_000);
    await apply('srv-users-1', { version: 1, users: [{ username: 'BAD NAME', permissions: [] }] });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(names(store, ['alice', 'bob', 'carol']), 'alice,bob,carol', 'last valid table kept');
    await apply('srv-users-1', shard(1, 2, ['bob']));
    await waitFor('carol removed', () => store.get('carol') === undefined, 10_000);
  });

  test('survives a broken watch (API server restart) and picks up changes made after it', async () => {
    await cp.restartApiServer();
    await apply('srv-users-0', shard(0, 2, ['alice', 'dave']));
    await waitFor('dave after the restart', () => store.get('dave') !== undefined, 60_000);
  });

  test('shrinking to one shard drops the users of the removed shard', async () => {
    await apply('srv-users-0', shard(0, 1, ['alice', 'dave']));
    await waitFor('bob gone', () => store.get('bob') === undefined, 10_000);
    assert.equal(names(store, ['alice', 'bob', 'dave']), 'alice,dave');
  });
});

describe('a pod configured with --users-secret', () => {
  let pod: Pod;
  let keys: KeyDir;

  test('serves a login from the Secret and cuts it off when the user is removed', async () => {
    keys = makeHostKeyDir();
    const config = parseConfig(
      [
        '--listen=127.0.0.1:0',
        '--metrics-listen=127.0.0.1:0',
        `--host-key-dir=${keys.dir}`,
        '--users-secret=srv-users-0',
        `--namespace=${NS}`,
        `--kubeconfig=${kubeconfig}`,
        '--s3-bucket=unused',
      ],
      {},
    );
    pod = await startPod(config, { log: silentLogger, storageFor: () => new MemoryStorage() });
    try {
      const client = new ssh2.Client();
      await new Promise<void>((resolve, reject) => {
        client.on('ready', () => resolve());
        client.on('error', reject);
        client.connect({ host: '127.0.0.1', port: pod.sshAddress.port, username: 'dave', password: 'pw-for-k8s-test' });
      });
      const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
      const started = Date.now();
      await apply('srv-users-0', shard(0, 1, ['alice']));
      await closed;
      assert.ok(Date.now() - started < 10_000, 'closed within 10 s');
      const ready = await fetch(`http://127.0.0.1:${pod.metricsAddress.port}/readyz`);
      assert.equal(ready.status, 200);
    } finally {
      await pod.shutdown(0);
      keys.remove();
    }
  });
});
