import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { createCredentialBroker, roleSessionName, sourceIdentity } from './broker.ts';
import { CredentialErrorCode, isCredentialError, type StsResult } from './errors.ts';

const S3 = { region: 'us-east-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true };
const BASE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example' };

test('RoleSessionName and SourceIdentity stay inside STS charset and length whatever the input', () => {
  const cases: { name: string; user: string; session: string; expected: string }[] = [
    { name: 'plain', user: 'alice', session: 'a1b2c3d4e5f6', expected: 'sftpgate-alice-a1b2c3d4' },
    { name: 'session id with separators', user: 'bob', session: '12:ab-CD/ef', expected: 'sftpgate-bob-12abCDef' },
    {
      name: 'long username is cut',
      user: 'u'.repeat(63),
      session: 'deadbeef',
      expected: `sftpgate-${'u'.repeat(46)}-deadbeef`,
    },
  ];
  for (const c of cases) assert.equal(roleSessionName(c.user, c.session), c.expected, c.name);
  const random = roleSessionName('carol', '::');
  assert.match(random, /^sftpgate-carol-[0-9a-f]{8}$/);
  for (const s of [random, ...cases.map((c) => roleSessionName(c.user, c.session))]) {
    assert.ok(s.length >= 2 && s.length <= 64 && /^[\w+=,.@-]+$/.test(s), s);
  }
  assert.equal(sourceIdentity('alice'), 'alice');
  assert.equal(sourceIdentity('a'), 'a_');
});

test('configuration is validated before anything runs', () => {
  const bad: { name: string; config: Parameters<typeof createCredentialBroker>[0] }[] = [
    { name: 'STS without endpoint', config: { mode: 'STS', s3: S3 } },
    { name: 'AWS without role', config: { mode: 'AWS', s3: S3 } },
    { name: 'duration below STS minimum', config: { mode: 'None', s3: S3, durationSeconds: 600 } },
    {
      name: 'AWS above role-chaining cap',
      config: { mode: 'AWS', s3: S3, roleArn: 'arn:aws:iam::1:role/x', durationSeconds: 7200 },
    },
    {
      name: 'refresh margin not under duration',
      config: { mode: 'None', s3: S3, durationSeconds: 900, refreshBeforeSeconds: 900 },
    },
  ];
  for (const c of bad) {
    assert.throws(
      () => createCredentialBroker(c.config),
      (err: unknown) => isCredentialError(err, CredentialErrorCode.InvalidConfig),
      c.name,
    );
  }
});

test('None mode: every login shares the base client', async () => {
  const broker = createCredentialBroker({ mode: 'None', s3: S3, baseCredentials: BASE });
  try {
    const a = await broker.clientFor({ username: 'alice' }, 's1');
    const b = await broker.clientFor({ username: 'bob' }, 's2');
    assert.equal(a, b);
  } finally {
    broker.close();
  }
});

test('STS mode: a user without a session policy is refused without calling STS', async () => {
  const results: StsResult[] = [];
  const broker = createCredentialBroker({
    mode: 'STS',
    s3: S3,
    stsEndpoint: 'http://127.0.0.1:9',
    baseCredentials: BASE,
    onStsRequest: (r) => results.push(r),
  });
  try {
    for (const sessionPolicy of [undefined, null, '']) {
      await assert.rejects(broker.clientFor({ username: 'alice', sessionPolicy }, 's1'), (err: unknown) =>
        isCredentialError(err, CredentialErrorCode.NoSessionPolicy),
      );
    }
    assert.deepEqual(results, []);
  } finally {
    broker.close();
  }
});

test('STS mode: an unreachable STS refuses the login as Unavailable and is counted', async () => {
  // A port that was just free and is closed again: connection refused, a real network failure.
  const port = await new Promise<number>((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
  const results: StsResult[] = [];
  const broker = createCredentialBroker({
    mode: 'STS',
    s3: S3,
    stsEndpoint: `http://127.0.0.1:${port}`,
    baseCredentials: BASE,
    onStsRequest: (r) => results.push(r),
  });
  try {
    await assert.rejects(
      broker.clientFor({ username: 'alice', sessionPolicy: '{"Version":"2012-10-17","Statement":[]}' }, 's1'),
      (err: unknown) =>
        isCredentialError(err, CredentialErrorCode.Unavailable) &&
        err.message.includes('"alice"') &&
        !err.message.includes(BASE.secretAccessKey),
    );
    assert.deepEqual(results, ['unavailable']);
  } finally {
    broker.close();
  }
});

test('an aborted login rejects with Aborted', async () => {
  const broker = createCredentialBroker({ mode: 'None', s3: S3, baseCredentials: BASE });
  try {
    await assert.rejects(broker.clientFor({ username: 'alice' }, 's1', AbortSignal.abort()), (err: unknown) =>
      isCredentialError(err, CredentialErrorCode.Aborted),
    );
  } finally {
    broker.close();
  }
});
