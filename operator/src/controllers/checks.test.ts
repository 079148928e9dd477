import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import type { SftpServer, SftpUser } from '../api/types.generated.ts';
import type { Cache } from './context.ts';
import { ownerServerKeys, secretServerKeys, userServerKeys } from './sftp-server/checks.ts';
import { secretUserKeys, serverUserKeys } from './sftp-user/checks.ts';

const cache = <T extends { metadata: { namespace?: string; name?: string } }>(items: T[]): Cache<T> => ({
  get: (k) => items.find((i) => `${i.metadata.namespace}/${i.metadata.name}` === k),
  list: () => items,
  keys: () => items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`),
});
const server = (name: string, extra: Partial<SftpServer['spec']> = {}, status: SftpServer['status'] = {}) =>
  ({
    metadata: { namespace: 'ns', name, generation: 1 },
    spec: { storage: { profile: 'minio' }, hostKeys: { types: ['ed25519'] }, ...extra },
    status,
  }) as unknown as SftpServer;
const user = (name: string, srv: string, extra: Partial<SftpUser['spec']> = {}, status: SftpUser['status'] = {}) =>
  ({
    metadata: { namespace: 'ns', name },
    spec: { serverRef: { name: srv }, ...extra },
    status,
  }) as unknown as SftpUser;
const shard = (srv: string, usernames: string[], rv = '1') =>
  ({
    metadata: {
      namespace: 'ns',
      name: `${srv}-users-0`,
      resourceVersion: rv,
      labels: {
        'app.kubernetes.io/managed-by': 'sftpgate',
        'sftpgate.io/server': srv,
        'sftpgate.io/component': 'users',
      },
    },
    data: {
      'users.json': Buffer.from(
        JSON.stringify({ version: 1, users: usernames.map((username) => ({ username })) }),
      ).toString('base64'),
    },
  }) as V1Secret;
const published = {
  conditions: [{ type: 'Published', status: 'True' as const, reason: 'x', message: '', lastTransitionTime: '' }],
};

describe('server checks', () => {
  const map = secretServerKeys();
  const cases: { name: string; secret: V1Secret; want: string[] }[] = [
    { name: 'our shard → its server', secret: shard('a', []), want: ['ns/a'] },
    {
      name: "a tenant Secret (no label of ours) → nothing: tenants' Secrets are never watched",
      secret: { metadata: { namespace: 'ns', name: 'pw' } },
      want: [],
    },
    {
      name: 'the server label without our managed-by label → nothing',
      secret: { metadata: { namespace: 'ns', name: 'x', labels: { 'sftpgate.io/server': 'a' } } },
      want: [],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(map(c.secret).sort(), c.want));
  it('a user → its server; a child → its controller', () => {
    assert.deepEqual(userServerKeys(user('u', 'a')), ['ns/a']);
    assert.deepEqual(
      ownerServerKeys({
        metadata: {
          namespace: 'ns',
          ownerReferences: [{ apiVersion: 'v', kind: 'SftpServer', name: 'a', uid: '1', controller: true }],
        },
      }),
      ['ns/a'],
    );
    assert.deepEqual(ownerServerKeys({ metadata: { namespace: 'ns' } }), []);
  });
});

describe('user checks', () => {
  it('server status noise does not requeue its users; readiness flips do', () => {
    const users = cache([user('u1', 'a'), user('u2', 'b')]);
    const map = serverUserKeys(users);
    const before = server('a', {}, { readyReplicas: 0 });
    assert.deepEqual(map(server('a', {}, { readyReplicas: 1 }), 'update', before), []);
    const ready = server(
      'a',
      {},
      { conditions: [{ type: 'StorageReady', status: 'True', reason: 'x', message: '', lastTransitionTime: '' }] },
    );
    assert.deepEqual(map(ready, 'update', before), ['ns/u1']);
    assert.deepEqual(map(before, 'add'), ['ns/u1']);
  });

  it('a shard write requeues only users whose Published disagrees', () => {
    const users = cache([
      user('in-ok', 'a', {}, published),
      user('in-stale', 'a'),
      user('out-stale', 'a', {}, published),
      user('out-ok', 'a'),
    ]);
    const s = shard('a', ['in-ok', 'in-stale'], '7');
    const servers = cache([server('a', {}, { usersSecrets: ['a-users-0'] })]);
    const map = secretUserKeys(users, servers, cache([s as never]));
    assert.deepEqual(map(s).sort(), ['ns/in-stale', 'ns/out-stale']);
  });
});
