import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isStorageError, StorageErrorCode } from './errors.ts';
import { createPathJail, type JailUser, MAX_KEY_BYTES, type Permission } from './jail.ts';

const ALL: Permission[] = ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'setstat'];
const alice: JailUser = {
  home: 'alice',
  permissions: ALL,
  directoryPermissions: [
    { path: '/outbox', permissions: ['list', 'download'] },
    { path: '/outbox/drop', permissions: ['list', 'upload'] },
  ],
  logicalDirectories: [
    { path: '/shared', prefix: 'shared/reports', permissions: ['list', 'download'] },
    { path: '/deep/mount/point', prefix: 'elsewhere' },
  ],
};
const jail = createPathJail('srv', alice);
const bytes = (...b: number[]) => Uint8Array.from(b);
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('path jail: mapping', () => {
  const cases: { name: string; input: Uint8Array | string; virtualPath: string; key: string }[] = [
    { name: 'root', input: '/', virtualPath: '/', key: 'srv/alice' },
    { name: 'empty path is the root', input: '', virtualPath: '/', key: 'srv/alice' },
    { name: 'dot is the root', input: '.', virtualPath: '/', key: 'srv/alice' },
    { name: 'relative path is below root', input: 'a/b.txt', virtualPath: '/a/b.txt', key: 'srv/alice/a/b.txt' },
    { name: 'double slashes collapse', input: '//a///b', virtualPath: '/a/b', key: 'srv/alice/a/b' },
    { name: 'trailing slash dropped', input: '/a/b/', virtualPath: '/a/b', key: 'srv/alice/a/b' },
    { name: 'dot segments dropped', input: '/./a/./b/.', virtualPath: '/a/b', key: 'srv/alice/a/b' },
    { name: 'dotdot pops inside', input: '/a/b/../c', virtualPath: '/a/c', key: 'srv/alice/a/c' },
    { name: 'dotdot at root clamps', input: '/..', virtualPath: '/', key: 'srv/alice' },
    {
      name: 'sibling escape ../../alice2 clamps',
      input: '../../alice2',
      virtualPath: '/alice2',
      key: 'srv/alice/alice2',
    },
    { name: 'alice/../alice2 stays inside', input: 'alice/../alice2', virtualPath: '/alice2', key: 'srv/alice/alice2' },
    {
      name: 'many dotdots clamp',
      input: '/../../../../etc/passwd',
      virtualPath: '/etc/passwd',
      key: 'srv/alice/etc/passwd',
    },
    { name: 'percent-encoded slash is literal', input: '/..%2f', virtualPath: '/..%2f', key: 'srv/alice/..%2f' },
    {
      name: 'percent-encoded dotdot is literal',
      input: '/%2e%2e/%2e%2e/bob',
      virtualPath: '/%2e%2e/%2e%2e/bob',
      key: 'srv/alice/%2e%2e/%2e%2e/bob',
    },
    { name: 'backslash is literal', input: '/..\\..\\bob', virtualPath: '/..\\..\\bob', key: 'srv/alice/..\\..\\bob' },
    { name: 'three dots is a name', input: '/...', virtualPath: '/...', key: 'srv/alice/...' },
    { name: 'utf-8 bytes decoded', input: utf8('/ü/日本'), virtualPath: '/ü/日本', key: 'srv/alice/ü/日本' },
    { name: 'logical dir entry', input: '/shared', virtualPath: '/shared', key: 'srv/shared/reports' },
    {
      name: 'inside logical dir',
      input: '/shared/q1.csv',
      virtualPath: '/shared/q1.csv',
      key: 'srv/shared/reports/q1.csv',
    },
    { name: 'logical dir escape by dotdot', input: '/shared/../../bob', virtualPath: '/bob', key: 'srv/alice/bob' },
    { name: 'logical dir escape stays at root', input: '/shared/../../../', virtualPath: '/', key: 'srv/alice' },
    {
      name: 'logical dir prefix is whole-segment',
      input: '/shared2/x',
      virtualPath: '/shared2/x',
      key: 'srv/alice/shared2/x',
    },
    { name: 'deep mount', input: '/deep/mount/point/f', virtualPath: '/deep/mount/point/f', key: 'srv/elsewhere/f' },
    {
      name: 'path to deep mount is home',
      input: '/deep/mount',
      virtualPath: '/deep/mount',
      key: 'srv/alice/deep/mount',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = jail.resolve(c.input);
      assert.equal(r.virtualPath, c.virtualPath);
      assert.equal(r.key, c.key);
      assert.equal(r.dirPrefix, `${c.key}/`);
      // Whatever the input, the key stays under one of the user's mapped prefixes, compared on whole segments.
      assert.ok(
        ['srv/alice', 'srv/shared/reports', 'srv/elsewhere'].some((p) => r.key === p || r.key.startsWith(`${p}/`)),
      );
    });
  }

  test('user alice never reaches alice2/', () => {
    for (const p of ['../alice2', '/../alice2/x', '..', 'alice/../../alice2', '/./../alice2']) {
      const { key } = jail.resolve(p);
      assert.ok(key === 'srv/alice' || key.startsWith('srv/alice/'), `${p} -> ${key}`);
      assert.ok(!key.startsWith('srv/alice2'), `${p} -> ${key}`);
    }
  });

  test('empty server prefix', () => {
    const j = createPathJail('', { home: 'bob', permissions: ALL });
    assert.equal(j.resolve('/x').key, 'bob/x');
    assert.equal(j.resolve('/').key, 'bob');
  });

  test('nested home and server prefix with trailing slash', () => {
    const j = createPathJail('tenants/acme/', { home: 'team/bob', permissions: ALL });
    assert.equal(j.resolve('/x').key, 'tenants/acme/team/bob/x');
  });
});

describe('path jail: refusals', () => {
  const refused: { name: string; input: Uint8Array | string }[] = [
    { name: 'NUL in the middle', input: bytes(0x2f, 0x61, 0x00, 0x62) },
    { name: 'NUL at the end', input: '/a\0' },
    { name: 'NUL hidden after dotdot', input: '/..\0/alice2' },
    { name: 'invalid UTF-8 (lone continuation byte)', input: bytes(0x2f, 0x80) },
    { name: 'invalid UTF-8 (truncated sequence)', input: bytes(0x2f, 0xe6, 0x97) },
    { name: 'invalid UTF-8 (overlong encoding of /)', input: bytes(0x2e, 0x2e, 0xc0, 0xaf, 0x61) },
    { name: 'invalid UTF-8 (surrogate)', input: bytes(0x2f, 0xed, 0xa0, 0x80) },
    { name: 'lone surrogate in a string', input: '/a\ud800' },
    { name: 'overlong key', input: `/${'x'.repeat(MAX_KEY_BYTES)}` },
    { name: 'overlong key by multibyte characters', input: `/${'ü'.repeat(510)}` },
  ];
  for (const c of refused) {
    test(c.name, () => {
      assert.throws(
        () => jail.resolve(c.input),
        (err: unknown) => isStorageError(err, StorageErrorCode.InvalidPath),
      );
    });
  }

  test('longest key that still fits (dir marker included)', () => {
    const room = MAX_KEY_BYTES - 1 - 'srv/alice/'.length;
    assert.equal(jail.resolve(`/${'x'.repeat(room)}`).key.length, MAX_KEY_BYTES - 1);
    assert.throws(() => jail.resolve(`/${'x'.repeat(room + 1)}`), /too long/);
  });

  test('dotdot does not make a long path shorter than its key', () => {
    // The limit applies to the normalised key, so a long spelling that normalises short is fine.
    assert.equal(jail.resolve(`/${'a/../'.repeat(500)}f`).key, 'srv/alice/f');
  });
});

describe('path jail: permissions', () => {
  const cases: { name: string; path: string; perms: Permission[]; parent: Permission[]; mount: boolean }[] = [
    { name: 'root gets defaults', path: '/', perms: ALL, parent: ALL, mount: true },
    { name: 'file in root', path: '/f', perms: ALL, parent: ALL, mount: false },
    { name: 'override dir itself', path: '/outbox', perms: ['list', 'download'], parent: ALL, mount: false },
    {
      name: 'below override',
      path: '/outbox/a/b',
      perms: ['list', 'download'],
      parent: ['list', 'download'],
      mount: false,
    },
    {
      name: 'longest override wins',
      path: '/outbox/drop/f',
      perms: ['list', 'upload'],
      parent: ['list', 'upload'],
      mount: false,
    },
    { name: 'override is whole-segment', path: '/outbox2/f', perms: ALL, parent: ALL, mount: false },
    {
      name: 'logical dir permissions',
      path: '/shared/x',
      perms: ['list', 'download'],
      parent: ['list', 'download'],
      mount: false,
    },
    { name: 'logical dir entry is a mount', path: '/shared', perms: ['list', 'download'], parent: ALL, mount: true },
    {
      name: 'logical dir without own permissions inherits',
      path: '/deep/mount/point/f',
      perms: ALL,
      parent: ALL,
      mount: false,
    },
    { name: 'path on the way to a mount', path: '/deep', perms: ALL, parent: ALL, mount: true },
    { name: 'dotdot cannot borrow permissions', path: '/outbox/../f', perms: ALL, parent: ALL, mount: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = jail.resolve(c.path);
      assert.deepEqual([...r.permissions].sort(), [...c.perms].sort());
      assert.deepEqual([...r.parentPermissions].sort(), [...c.parent].sort());
      assert.equal(r.isMountPoint, c.mount);
    });
  }

  test('explicit directoryPermissions beat a logical directory on the same path', () => {
    const j = createPathJail('srv', {
      home: 'u',
      permissions: ALL,
      logicalDirectories: [{ path: '/s', prefix: 'x', permissions: ['list'] }],
      directoryPermissions: [{ path: '/s', permissions: ['download'] }],
    });
    assert.deepEqual([...j.resolve('/s/f').permissions], ['download']);
  });

  test('mountsIn lists entries and the way to them', () => {
    assert.deepEqual(jail.mountsIn('/'), ['deep', 'shared']);
    assert.deepEqual(jail.mountsIn('/deep'), ['mount']);
    assert.deepEqual(jail.mountsIn('/deep/mount'), ['point']);
    assert.deepEqual(jail.mountsIn('/shared'), []);
  });
});

describe('path jail: configuration', () => {
  const bad: { name: string; prefix: string; user: JailUser }[] = [
    { name: 'empty home', prefix: 'srv', user: { home: '', permissions: ALL } },
    { name: 'home with dotdot', prefix: 'srv', user: { home: '../bob', permissions: ALL } },
    { name: 'home with leading slash', prefix: 'srv', user: { home: '/alice', permissions: ALL } },
    { name: 'home with double slash', prefix: 'srv', user: { home: 'a//b', permissions: ALL } },
    { name: 'server prefix with dotdot', prefix: 'srv/..', user: { home: 'alice', permissions: ALL } },
    {
      name: 'logical prefix escaping the server prefix',
      prefix: 'srv',
      user: { home: 'alice', permissions: ALL, logicalDirectories: [{ path: '/x', prefix: '../other' }] },
    },
    {
      name: 'logical prefix absolute',
      prefix: 'srv',
      user: { home: 'alice', permissions: ALL, logicalDirectories: [{ path: '/x', prefix: '/other' }] },
    },
    {
      name: 'logical dir replacing root',
      prefix: 'srv',
      user: { home: 'alice', permissions: ALL, logicalDirectories: [{ path: '/', prefix: 'other' }] },
    },
    {
      name: 'logical dir path with dotdot',
      prefix: 'srv',
      user: { home: 'alice', permissions: ALL, logicalDirectories: [{ path: '/a/../b', prefix: 'other' }] },
    },
    {
      name: 'duplicate logical dir',
      prefix: 'srv',
      user: {
        home: 'alice',
        permissions: ALL,
        logicalDirectories: [
          { path: '/x', prefix: 'a' },
          { path: '/x/', prefix: 'b' },
        ],
      },
    },
    // The reserved root `<server prefix>/.sftpgate/` (resume state, quota usage) is never a user's file.
    { name: 'home in the reserved root', prefix: 'srv', user: { home: '.sftpgate', permissions: ALL } },
    { name: 'home below the reserved root', prefix: 'srv', user: { home: '.sftpgate/uploads/bob', permissions: ALL } },
    {
      name: 'logical dir onto the reserved root',
      prefix: 'srv',
      user: { home: 'alice', permissions: ALL, logicalDirectories: [{ path: '/st', prefix: '.sftpgate/uploads' }] },
    },
    {
      name: 'relative directory permission path',
      prefix: 'srv',
      user: { home: 'alice', permissions: ALL, directoryPermissions: [{ path: 'outbox', permissions: [] }] },
    },
  ];
  for (const c of bad) {
    test(c.name, () => {
      assert.throws(() => createPathJail(c.prefix, c.user));
    });
  }
});

describe('path jail: the reserved root', () => {
  // Every wire spelling of `.sftpgate` stays inside the user's own home: only configuration could reach the root.
  for (const input of [
    '/.sftpgate/uploads/alice/x.json',
    '/../.sftpgate/uploads',
    '../../.sftpgate',
    '/a/../../.sftpgate',
  ]) {
    test(`${input} stays in the home`, () => {
      const key = jail.resolve(input).key;
      assert.ok(key.startsWith('srv/alice/'), key);
      assert.ok(!key.startsWith('srv/.sftpgate'), key);
    });
  }
  test('a home-less server prefix keeps the rule', () => {
    assert.throws(() => createPathJail('', { home: '.sftpgate', permissions: ALL }));
    assert.equal(createPathJail('', { home: 'a', permissions: ALL }).resolve('/.sftpgate').key, 'a/.sftpgate');
  });
});
