import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsersTableTooLargeError } from './errors.ts';
import { buildUsersTable, shardOf, type UsersTableEntry } from './users-table.ts';

const user = (name: string, extra: Partial<UsersTableEntry> = {}): UsersTableEntry => ({
  username: name,
  home: name,
  permissions: ['list', 'download'],
  ...extra,
});

describe('buildUsersTable', () => {
  it('empty: one shard, shards: 1, no users', () => {
    const s = buildUsersTable([]);
    assert.equal(s.length, 1);
    assert.deepEqual(JSON.parse(s[0]?.content ?? ''), { version: 1, shard: 0, shards: 1, users: [] });
  });

  it('sorted by username and independent of input order and key order', () => {
    const a = buildUsersTable([user('carol'), user('alice'), user('bob')]);
    const b = buildUsersTable([
      user('bob'),
      { permissions: ['list', 'download'], home: 'carol', username: 'carol' },
      user('alice'),
    ]);
    assert.deepEqual(a, b);
    const doc = JSON.parse(a[0]?.content ?? '');
    assert.deepEqual(
      doc.users.map((u: { username: string }) => u.username),
      ['alice', 'bob', 'carol'],
    );
    assert.deepEqual(Object.keys(doc.users[0]), ['username', 'home', 'permissions']);
  });

  it('refuses duplicate usernames', () => {
    assert.throws(() => buildUsersTable([user('a'), user('a')]), UsersTableTooLargeError);
  });

  const sharding: { name: string; users: number; keyBytes: number; limit: number }[] = [
    { name: 'fits in one', users: 50, keyBytes: 100, limit: 64 * 1024 },
    { name: 'needs several', users: 400, keyBytes: 600, limit: 64 * 1024 },
    { name: 'many small shards', users: 2000, keyBytes: 200, limit: 32 * 1024 },
  ];
  for (const c of sharding) {
    it(`shards: ${c.name}`, () => {
      const users = Array.from({ length: c.users }, (_, i) =>
        user(`user${i}`, { publicKeys: [`ssh-ed25519 ${'A'.repeat(c.keyBytes)}`] }),
      );
      const shards = buildUsersTable(users, c.limit);
      const n = shards.length;
      let total = 0;
      for (const s of shards) {
        assert.ok(Buffer.byteLength(s.content) <= c.limit);
        const doc = JSON.parse(s.content);
        assert.equal(doc.shard, s.index);
        assert.equal(doc.shards, n);
        for (const u of doc.users) assert.equal(n === 1 ? 0 : shardOf(u.username, n), s.index);
        total += doc.users.length;
      }
      assert.equal(total, c.users);
      // Adding one user to a multi-shard table (same shard count) changes exactly one shard.
      if (n > 1) {
        const more = buildUsersTable([...users, user('newcomer')], c.limit);
        if (more.length === n) {
          const changed = more.filter((s, i) => s.content !== shards[i]?.content);
          assert.equal(changed.length, 1);
        }
      }
    });
  }

  it('a single user larger than a shard is refused', () => {
    assert.throws(
      () => buildUsersTable([user('big', { publicKeys: [`ssh-ed25519 ${'A'.repeat(5000)}`] })], 1024),
      UsersTableTooLargeError,
    );
  });
});
