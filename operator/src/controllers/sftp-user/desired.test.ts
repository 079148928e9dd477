import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SftpUser } from '../../api/types.generated.ts';
import { generateHostKey } from '../../secrets/host-keys.ts';
import { homeKey, resolvedPrefix, usernameOf, usernameOwners, usersTableEntry, validateUser } from './desired.ts';

const key = generateHostKey('ed25519').publicKey;

function user(name: string, spec: Partial<SftpUser['spec']> = {}, created = '2026-01-01T00:00:00Z'): SftpUser {
  return {
    apiVersion: 'sftpgate.io/v1alpha1',
    kind: 'SftpUser',
    metadata: { name, namespace: 'ns', creationTimestamp: created as unknown as Date },
    spec: {
      serverRef: { name: 'srv' },
      permissions: ['upload', 'list', 'download'],
      disabled: false,
      deletionPolicy: 'Retain',
      authorizedKeys: [key],
      ...spec,
    },
  };
}
const server = (prefix: string) => ({ bucket: 'b', prefix });

describe('sftp-user desired', () => {
  const prefixCases: { name: string; u: SftpUser; prefix: string; want: string }[] = [
    {
      name: 'username from metadata.name',
      u: user('alice'),
      prefix: 'servers/demo',
      want: 's3://b/servers/demo/alice/',
    },
    { name: 'spec.username', u: user('x', { username: 'bob' }), prefix: 'p', want: 's3://b/p/bob/' },
    {
      name: 'homeDirectory',
      u: user('x', { homeDirectory: 'partners/acme' }),
      prefix: 'p',
      want: 's3://b/p/partners/acme/',
    },
    { name: 'empty server prefix', u: user('carol'), prefix: '', want: 's3://b/carol/' },
  ];
  for (const c of prefixCases) {
    it(`prefix: ${c.name}`, () => {
      assert.equal(resolvedPrefix(server(c.prefix), c.u), c.want);
      assert.equal(`s3://b/${homeKey(server(c.prefix), c.u)}/`, c.want);
    });
  }

  it('validateUser: good key gives fingerprints; a bad key makes the user invalid with InvalidAuthorizedKey', () => {
    assert.equal(validateUser(user('a')).problems.length, 0);
    const bad = validateUser(user('a', { authorizedKeys: [key, 'ssh-ed25519 AAAA'] }));
    assert.equal(bad.reason, 'InvalidAuthorizedKey');
    assert.match(bad.problems[0] ?? '', /authorizedKeys\[1\]/);
  });

  it('usersTableEntry: quantities to bytes, sorted sets, optional fields omitted', () => {
    const u = user('acme', {
      quota: { maxBytes: '10Gi', maxFiles: 5 },
      bandwidth: { uploadBytesPerSecond: '1Mi' },
      allowedSourceCIDRs: ['10.0.0.0/8', '1.2.3.0/24'],
    });
    const e = usersTableEntry(u, validateUser(u).keys, '$scrypt$x');
    assert.deepEqual(e.permissions, ['download', 'list', 'upload']);
    assert.deepEqual(e.quota, { maxBytes: 10 * 2 ** 30, maxFiles: 5 });
    assert.deepEqual(e.bandwidth, { uploadBytesPerSecond: 2 ** 20 });
    assert.deepEqual(e.allowedSourceCIDRs, ['1.2.3.0/24', '10.0.0.0/8']);
    assert.equal(e.passwordHash, '$scrypt$x');
    assert.equal(e.disabled, undefined);
    const plain = usersTableEntry(user('p'), [], undefined);
    assert.deepEqual(Object.keys(plain), ['username', 'home', 'permissions']);
  });

  it('usernameOwners: the oldest claim wins, then the name', () => {
    const a = user('first', { username: 'shared' }, '2026-01-01T00:00:00Z');
    const b = user('second', { username: 'shared' }, '2025-01-01T00:00:00Z');
    const c = user('aaa', { username: 'other' }, '2026-01-01T00:00:00Z');
    const d = user('bbb', { username: 'other' }, '2026-01-01T00:00:00Z');
    const owners = usernameOwners([a, b, d, c]);
    assert.equal(owners.get('shared'), 'ns/second');
    assert.equal(owners.get('other'), 'ns/aaa');
    assert.equal(usernameOf(a), 'shared');
  });
});
