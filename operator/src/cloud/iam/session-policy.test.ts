import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { IamErrorCode, isIamError, PolicyTooLargeError } from './errors.ts';
import {
  buildSessionPolicy,
  PERMISSIONS,
  type Permission,
  policyDigest,
  SESSION_POLICY_MAX_BYTES,
  type SessionPolicyServer,
  type SessionPolicyUser,
} from './session-policy.ts';

// Golden files: test/fixtures/policies/<name>.json hold the input and the exact policy. Regenerate after an
// intended change with `SFTPGATE_UPDATE_GOLDEN=1 node --test operator/src/cloud/iam/session-policy.test.ts` and
// review the diff: every byte of these documents is a security decision.
const GOLDEN_DIR = new URL('../../../../test/fixtures/policies/', import.meta.url);
const UPDATE = process.env['SFTPGATE_UPDATE_GOLDEN'] === '1';

const ALL: Permission[] = [...PERMISSIONS];
const SERVER: SessionPolicyServer = { bucket: 'acme-sftp', prefix: 'tenants/acme' };

const goldenCases: { name: string; user: SessionPolicyUser; server: SessionPolicyServer }[] = [
  { name: 'full-access', user: { username: 'alice', permissions: ALL }, server: SERVER },
  { name: 'download-only', user: { username: 'bob', permissions: ['list', 'download'] }, server: SERVER },
  {
    name: 'upload-only-dropbox',
    user: { username: 'carol', home: 'drop/carol', permissions: ['upload'] },
    server: SERVER,
  },
  {
    // The example entry of docs/users-table.md: a read-only outbox in a full-access home and a read-only shared dir.
    name: 'users-table-example',
    user: {
      username: 'alice',
      home: 'alice',
      permissions: ALL,
      directoryPermissions: [{ path: '/outbox', permissions: ['list', 'download'] }],
      logicalDirectories: [{ path: '/shared', prefix: 'shared/reports', permissions: ['list', 'download'] }],
    },
    server: SERVER,
  },
  {
    // Nested override that gives an action back below a directory that lost it: the parent keeps it (no deny).
    name: 'nested-reallow',
    user: {
      username: 'dave',
      permissions: ['list', 'download', 'upload'],
      directoryPermissions: [
        { path: '/archive', permissions: ['list', 'download'] },
        { path: '/archive/incoming', permissions: ['list', 'upload'] },
        { path: '/reports', permissions: ['list'] },
      ],
    },
    server: SERVER,
  },
  {
    // A logical directory without own permissions inherits the rule at its entry path, as in the jail.
    name: 'logical-inherits-override',
    user: {
      username: 'erin',
      permissions: ALL,
      directoryPermissions: [{ path: '/data', permissions: ['list', 'download'] }],
      logicalDirectories: [{ path: '/data/shared', prefix: 'shared' }],
    },
    server: SERVER,
  },
  {
    name: 'sse-kms-empty-server-prefix',
    user: { username: 'frank', permissions: ['list', 'download', 'upload'] },
    server: {
      bucket: 'acme-sftp',
      prefix: '',
      partition: 'aws-us-gov',
      kmsKeyArn: 'arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    },
  },
  { name: 'no-permissions', user: { username: 'grace', permissions: [] }, server: SERVER },
];

for (const c of goldenCases) {
  test(`golden: ${c.name}`, () => {
    const policy = buildSessionPolicy(c.user, c.server);
    const actual = {
      user: c.user,
      server: c.server,
      precision: policy.precision,
      size: policy.size,
      digest: policy.digest,
      policy: policy.document,
    };
    const file = new URL(`${c.name}.json`, GOLDEN_DIR);
    if (UPDATE) writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
    assert.deepEqual(actual, JSON.parse(readFileSync(file, 'utf8')));
    assert.equal(policy.packed, JSON.stringify(policy.document));
    assert.ok(!/\s/.test(policy.packed), 'packed policy has no whitespace');
    assert.equal(policy.digest, policyDigest(policy.packed));
  });
}

test('deterministic: the order of overrides, logical directories and permissions does not change a byte', () => {
  const a: SessionPolicyUser = {
    username: 'alice',
    permissions: ['upload', 'list', 'download'],
    directoryPermissions: [
      { path: '/a', permissions: ['download', 'list'] },
      { path: '/b', permissions: ['list'] },
    ],
    logicalDirectories: [
      { path: '/x', prefix: 'px', permissions: ['list'] },
      { path: '/y', prefix: 'py', permissions: ['download', 'list'] },
    ],
  };
  const b: SessionPolicyUser = {
    username: 'alice',
    permissions: ['download', 'list', 'upload'],
    directoryPermissions: [...(a.directoryPermissions ?? [])].reverse(),
    logicalDirectories: [...(a.logicalDirectories ?? [])].reverse(),
  };
  assert.equal(buildSessionPolicy(a, SERVER).packed, buildSessionPolicy(b, SERVER).packed);
});

test('sibling prefixes never match: alice grants nothing under alice2', () => {
  const p = buildSessionPolicy({ username: 'alice', permissions: ALL }, SERVER).packed;
  assert.match(p, /tenants\/acme\/alice\/\*/);
  assert.doesNotMatch(p, /tenants\/acme\/alice\*/);
  assert.doesNotMatch(p, /tenants\/acme\/alice"/);
});

test('statements with identical actions are merged into one', () => {
  const p = buildSessionPolicy(
    {
      username: 'alice',
      permissions: ['list', 'download'],
      logicalDirectories: [
        { path: '/x', prefix: 'px' },
        { path: '/y', prefix: 'py' },
      ],
    },
    SERVER,
  );
  const getStatements = p.document.Statement.filter((s) => [s.Action].flat().includes('s3:GetObject'));
  assert.equal(getStatements.length, 1);
  assert.deepEqual(getStatements[0]?.Resource, [
    'arn:aws:s3:::acme-sftp/tenants/acme/alice/*',
    'arn:aws:s3:::acme-sftp/tenants/acme/px/*',
    'arn:aws:s3:::acme-sftp/tenants/acme/py/*',
  ]);
});

test('refuses prefixes IAM would read as wildcards or variables, without building anything', () => {
  for (const home of ['a*', 'a?b', `x/\${aws:username}`, '../etc', 'a//b']) {
    assert.throws(
      () => buildSessionPolicy({ username: 'alice', home, permissions: ALL }, SERVER),
      (err: unknown) => isIamError(err, IamErrorCode.InvalidInput),
      home,
    );
  }
  assert.throws(
    () =>
      buildSessionPolicy(
        { username: 'alice', permissions: ALL, logicalDirectories: [{ path: '/s', prefix: 'shared/*' }] },
        SERVER,
      ),
    (err: unknown) => isIamError(err, IamErrorCode.InvalidInput),
  );
});

// The largest user spec the CRD admits: 8 logical directories and 16 directory-permission overrides, every override
// restrictive (each would need its own Deny), under a 63-character bucket (S3's maximum) and a 2-segment server
// prefix. Path lengths are what decides the size; measured figures are in docs/iam.md.
function largestSpec(
  nameLength: number,
  bucket = 'b'.repeat(63),
  counts = { logical: 8, overrides: 16 },
): { user: SessionPolicyUser; server: SessionPolicyServer } {
  const name = (kind: string, i: number) =>
    `${kind.slice(0, nameLength > 6 ? undefined : 1)}${i}-`.padEnd(nameLength, 'x');
  return {
    server: { bucket, prefix: 'tenants/acme-corp' },
    user: {
      username: 'partner-0123456789',
      permissions: ALL,
      logicalDirectories: Array.from({ length: counts.logical }, (_, i) => ({
        path: `/${name('logical', i)}`,
        prefix: `shared/${name('prefix', i)}`,
        permissions: i % 2 === 0 ? (['list', 'download'] as Permission[]) : ALL,
      })),
      directoryPermissions: Array.from({ length: counts.overrides }, (_, i) => ({
        path:
          i < counts.overrides / 2 ? `/${name('dir', i)}` : `/${name('logical', i % counts.logical)}/${name('sub', i)}`,
        permissions: [['list', 'download'], ['list'], ['download'], ['list', 'upload']][i % 4] as Permission[],
      })),
    },
  };
}

test('the largest supported user spec (8 logical dirs, 16 overrides, 20-character names) fits the cap', () => {
  const { user, server } = largestSpec(20);
  const p = buildSessionPolicy(user, server);
  assert.ok(p.size <= SESSION_POLICY_MAX_BYTES, `${p.size} bytes`);
  // Sixteen restrictive Denies do not fit next to nine roots: the overrides fall back to the jail alone.
  assert.equal(p.precision, 'coarse');
  assert.ok(p.document.Statement.every((s) => s.Effect === 'Allow'));
});

test('the CRD maxima (16 logical directories, 64 overrides) fit with short names; the status reports the rest', () => {
  const { user, server } = largestSpec(4, 'acme-sftp', { logical: 16, overrides: 64 });
  const p = buildSessionPolicy(user, server);
  assert.ok(p.size <= SESSION_POLICY_MAX_BYTES, `${p.size} bytes`);
  const longer = largestSpec(8, 'acme-sftp', { logical: 16, overrides: 64 });
  assert.throws(() => buildSessionPolicy(longer.user, longer.server), PolicyTooLargeError);
});

test('the exact form is used whenever it fits', () => {
  const { user, server } = largestSpec(20, 'acme-sftp');
  const few = {
    ...user,
    logicalDirectories: user.logicalDirectories?.slice(0, 4) ?? [],
    directoryPermissions: user.directoryPermissions?.slice(0, 4) ?? [],
  };
  const p = buildSessionPolicy(few, server);
  assert.equal(p.precision, 'exact');
  assert.ok(p.document.Statement.some((s) => s.Effect === 'Deny'));
});

test('a spec that cannot fit even coarse is refused with a typed, stable error naming the user', () => {
  const huge = largestSpec(60);
  assert.throws(
    () => buildSessionPolicy(huge.user, huge.server),
    (err: unknown) =>
      err instanceof PolicyTooLargeError &&
      err.code === IamErrorCode.PolicyTooLarge &&
      err.size > SESSION_POLICY_MAX_BYTES &&
      err.limit === SESSION_POLICY_MAX_BYTES &&
      err.message.includes('partner-0123456789'),
  );
});

test('a user with a quota: its pods may read and write its own usage objects, and no other user', async () => {
  const { evaluatePolicy } = await import('./policy-evaluator.ts');
  const p = buildSessionPolicy({ username: 'alice', permissions: ['list', 'download'], quota: {} }, SERVER).packed;
  const arn = 'arn:aws:s3:::acme-sftp';
  const own = 'tenants/acme/.sftpgate/usage/alice/';
  for (const action of ['s3:GetObject', 's3:PutObject']) {
    assert.equal(evaluatePolicy(p, { action, resource: `${arn}/${own}pods/pod-1.json` }), 'allow');
    assert.equal(
      evaluatePolicy(p, { action, resource: `${arn}/tenants/acme/.sftpgate/usage/bob/measured.json` }),
      'implicit-deny',
    );
    assert.equal(
      evaluatePolicy(p, { action, resource: `${arn}/tenants/acme/.sftpgate/usage/alice2/measured.json` }),
      'implicit-deny',
    );
  }
  assert.equal(
    evaluatePolicy(p, { action: 's3:ListBucket', resource: arn, context: { 's3:prefix': `${own}pods/` } }),
    'allow',
  );
  assert.equal(
    evaluatePolicy(p, { action: 's3:ListBucket', resource: arn, context: { 's3:prefix': 'tenants/acme/.sftpgate/' } }),
    'implicit-deny',
  );
  const without = buildSessionPolicy({ username: 'alice', permissions: ['list', 'download'] }, SERVER).packed;
  assert.ok(!without.includes('.sftpgate'), 'users without a quota get no usage statements');
});
