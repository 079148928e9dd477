import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserRecord } from '../users/types.ts';
import { revocationReason } from './revocation.ts';

const base: UserRecord = {
  username: 'alice',
  publicKeys: ['ssh-ed25519 AAAA alice'],
  passwordHash: '$scrypt$x',
  permissions: ['list', 'download', 'upload'],
  home: 'alice',
  bandwidth: { uploadBytesPerSecond: 1000 },
  quota: { maxBytes: 10 },
};

test('revocation: every change but bandwidth and quota ends the session', () => {
  const cases: Array<[string, UserRecord | undefined, string | undefined]> = [
    ['same object', base, undefined],
    ['equal copy, other key order', JSON.parse(JSON.stringify({ ...base, username: 'alice' })), undefined],
    ['bandwidth changed', { ...base, bandwidth: { uploadBytesPerSecond: 5 } }, undefined],
    ['quota removed', { ...base, quota: null }, undefined],
    ['deleted', undefined, 'removed'],
    ['key removed', { ...base, publicKeys: [] }, 'changed'],
    ['password changed', { ...base, passwordHash: '$scrypt$y' }, 'changed'],
    ['permissions narrowed', { ...base, permissions: ['list'] }, 'changed'],
    ['home moved', { ...base, home: 'elsewhere' }, 'changed'],
    ['logical directory added', { ...base, logicalDirectories: [{ path: '/x', prefix: 'x' }] }, 'changed'],
    ['directory permissions', { ...base, directoryPermissions: [{ path: '/a', permissions: ['list'] }] }, 'changed'],
    ['session policy', { ...base, sessionPolicy: '{}' }, 'changed'],
    ['session limit', { ...base, maxSessions: 1 }, 'changed'],
    ['disabled', { ...base, disabled: true }, 'disabled'],
    ['expired', { ...base, expiresAt: '2020-01-01T00:00:00Z' }, 'expired'],
    ['source range excludes the client', { ...base, allowedSourceCIDRs: ['10.0.0.0/8'] }, 'cidr'],
  ];
  for (const [name, next, want] of cases) assert.equal(revocationReason(base, next, '127.0.0.1'), want, name);
});
