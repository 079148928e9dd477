import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPermission, PERMISSIONS } from './permission.ts';
import { validateUsersDocument } from './validate.ts';

const example = {
  version: 1,
  shard: 0,
  shards: 1,
  users: [
    {
      username: 'alice',
      home: 'alice',
      disabled: false,
      expiresAt: '2027-01-01T00:00:00Z',
      publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFz0 alice@laptop'],
      passwordHash: '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      permissions: ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'setstat'],
      directoryPermissions: [{ path: '/outbox', permissions: ['list', 'download'] }],
      logicalDirectories: [{ path: '/shared', prefix: 'shared/reports', permissions: ['list', 'download'] }],
      quota: { maxBytes: 10737418240, maxFiles: 100000 },
      bandwidth: { uploadBytesPerSecond: 0, downloadBytesPerSecond: 0 },
      allowedSourceCIDRs: ['10.0.0.0/8'],
      maxSessions: 10,
      sessionPolicy: null,
    },
  ],
};

test('the example of docs/users-table.md validates', () => {
  assert.equal(validateUsersDocument(example, 'example').users[0]?.username, 'alice');
  assert.ok(validateUsersDocument({ version: 1, users: [] }, 'empty'));
});

const bad: Array<[string, (u: Record<string, unknown>) => void]> = [
  ['uppercase username', (u) => (u['username'] = 'Alice')],
  ['home with ..', (u) => (u['home'] = 'a/../b')],
  ['home with leading slash', (u) => (u['home'] = '/alice')],
  ['home with //', (u) => (u['home'] = 'a//b')],
  ['unknown permission', (u) => (u['permissions'] = ['list', 'chmod'])],
  ['plaintext password field', (u) => (u['password'] = 'hunter2')],
  ['password hash not scrypt', (u) => (u['passwordHash'] = 'hunter2')],
  ['key with options', (u) => (u['publicKeys'] = ['no-pty ssh-ed25519 AAAA'])],
  ['logical dir with ..', (u) => (u['logicalDirectories'] = [{ path: '/x/..', prefix: 'p' }])],
  ['bad date', (u) => (u['expiresAt'] = 'tomorrow')],
];
for (const [name, mutate] of bad) {
  test(`refused: ${name}`, () => {
    const doc = structuredClone(example) as { users: Record<string, unknown>[] };
    const user = doc.users[0];
    assert.ok(user);
    mutate(user);
    assert.throws(() => validateUsersDocument(doc, 'test'), { code: 'SFTPGATE_USERS_INVALID' });
  });
}

test('duplicate usernames are refused', () => {
  const doc = { version: 1, users: [example.users[0], example.users[0]] };
  assert.throws(() => validateUsersDocument(doc, 'test'), /duplicate username alice/);
});

test('PERMISSIONS lists exactly the schema enum', () => {
  assert.deepEqual(
    [...PERMISSIONS],
    ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'setstat'],
  );
  assert.equal(isPermission('chmod'), false);
  assert.equal(isPermission('list'), true);
});
