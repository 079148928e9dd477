// The second wall, proved against real MinIO with the jail bypassed: a login's temporary credentials are taken out
// of the credential broker and used with a plain S3 client, so only MinIO's evaluation of the session policy stands
// between user A and user B's objects.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { S3ResponseError } from '../../common/src/s3/errors.ts';
import {
  buildSessionPolicy,
  PERMISSIONS,
  type SessionPolicyUser,
} from '../../operator/src/cloud/iam/session-policy.ts';
import { type CredentialBroker, createCredentialBroker } from '../../sftp-pod/src/credentials/broker.ts';
import type { StsResult } from '../../sftp-pod/src/credentials/errors.ts';
import { type Minio, startMinio, waitUntil } from '../infra/index.ts';

const BUCKET = 'sftpgate-iam';
const SERVER = { bucket: BUCKET, prefix: 'srv' };
const ALL = [...PERMISSIONS];

const USERS: Record<string, SessionPolicyUser> = {
  alice: {
    username: 'alice',
    permissions: ALL,
    directoryPermissions: [{ path: '/outbox', permissions: ['list', 'download'] }],
    logicalDirectories: [{ path: '/shared', prefix: 'shared/reports', permissions: ['list', 'download'] }],
  },
  alice2: { username: 'alice2', permissions: ALL },
  // bob sees a logical directory alice has no entry for.
  bob: { username: 'bob', permissions: ALL, logicalDirectories: [{ path: '/private', prefix: 'private/bob' }] },
  dan: { username: 'dan', permissions: ['list', 'download'] },
  // A blind drop-off (download only: no listing) inside a full home, and an upload-only inbox below a read-only dir.
  erin: {
    username: 'erin',
    permissions: ALL,
    directoryPermissions: [
      { path: '/blind', permissions: ['download'] },
      { path: '/ro', permissions: ['list', 'download'] },
      { path: '/ro/inbox', permissions: ['upload'] },
    ],
  },
};

const SEED = [
  'srv/alice/a.txt',
  'srv/alice/outbox/o.txt',
  'srv/alice2/x.txt',
  'srv/bob/b.txt',
  'srv/private/bob/p.txt',
  'srv/shared/reports/r.txt',
  'srv/dan/d.txt',
  'srv/erin/blind/secret.txt',
  'srv/erin/ro/r.txt',
];

function loginUser(name: string) {
  const spec = USERS[name];
  if (!spec) throw new Error(`no user ${name}`);
  return { username: name, sessionPolicy: buildSessionPolicy(spec, SERVER).packed };
}

type Outcome = 'allowed' | 'denied';

async function outcome(op: Promise<unknown>): Promise<Outcome> {
  try {
    await op;
    return 'allowed';
  } catch (err) {
    // The AWS SDK's errors (raw clients) and the pod's client's (clientFor) carry the status alike.
    if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 403) return 'denied';
    if (err instanceof S3ResponseError && err.$metadata.httpStatusCode === 403) return 'denied';
    throw err;
  }
}

describe('session credentials against MinIO (jail bypassed)', () => {
  let minio: Minio;
  let broker: CredentialBroker;
  const stsResults: StsResult[] = [];
  /** A plain S3 client holding exactly the temporary credentials the user's login got. */
  const raw = new Map<string, S3Client>();

  before(async () => {
    minio = await startMinio();
    await minio.createBucket(BUCKET);
    const root = minio.s3();
    for (const key of SEED) await root.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    broker = createCredentialBroker({
      mode: 'STS',
      s3: { region: minio.region, endpoint: minio.endpoint, forcePathStyle: true },
      stsEndpoint: minio.endpoint,
      baseCredentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      durationSeconds: 900,
      onStsRequest: (r) => stsResults.push(r),
    });
    for (const name of Object.keys(USERS)) {
      const creds = await broker.credentialsFor(loginUser(name), `session-${name}`)();
      assert.ok(creds.sessionToken, 'temporary credentials carry a session token');
      assert.notEqual(creds.accessKeyId, minio.accessKeyId);
      raw.set(name, minio.s3(creds));
    }
  });

  after(async () => {
    broker?.close();
    await minio?.stop();
  });

  const as = (name: string): S3Client => {
    const c = raw.get(name);
    if (!c) throw new Error(`no client for ${name}`);
    return c;
  };
  const get = (u: string, key: string) => as(u).send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const put = (u: string, key: string) => as(u).send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
  const del = (u: string, key: string) => as(u).send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  const list = (u: string, prefix: string) =>
    as(u).send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, Delimiter: '/' }));

  const cases: { name: string; op: () => Promise<unknown>; expected: Outcome }[] = [
    // alice in her own home: everything her permissions say.
    { name: 'alice lists her home', op: () => list('alice', 'srv/alice/'), expected: 'allowed' },
    { name: 'alice reads her file', op: () => get('alice', 'srv/alice/a.txt'), expected: 'allowed' },
    { name: 'alice writes in her home', op: () => put('alice', 'srv/alice/new.txt'), expected: 'allowed' },
    { name: 'alice deletes in her home', op: () => del('alice', 'srv/alice/new.txt'), expected: 'allowed' },
    { name: 'alice creates a directory marker', op: () => put('alice', 'srv/alice/dir/'), expected: 'allowed' },
    // Her read-only outbox (a Deny in the policy) and her read-only logical directory.
    { name: 'alice reads her outbox', op: () => get('alice', 'srv/alice/outbox/o.txt'), expected: 'allowed' },
    { name: 'alice cannot write her outbox', op: () => put('alice', 'srv/alice/outbox/w.txt'), expected: 'denied' },
    {
      name: 'alice cannot delete from her outbox',
      op: () => del('alice', 'srv/alice/outbox/o.txt'),
      expected: 'denied',
    },
    // Creating/removing the outbox itself is an operation on its parent: the Deny spares the `outbox/` marker.
    { name: 'alice can create the outbox marker', op: () => put('alice', 'srv/alice/outbox/'), expected: 'allowed' },
    { name: 'alice lists shared', op: () => list('alice', 'srv/shared/reports/'), expected: 'allowed' },
    { name: 'alice reads shared', op: () => get('alice', 'srv/shared/reports/r.txt'), expected: 'allowed' },
    { name: 'alice cannot write shared', op: () => put('alice', 'srv/shared/reports/w.txt'), expected: 'denied' },
    { name: 'alice cannot delete shared', op: () => del('alice', 'srv/shared/reports/r.txt'), expected: 'denied' },
    // The sibling prefix: alice must never reach alice2.
    { name: 'alice cannot list alice2', op: () => list('alice', 'srv/alice2/'), expected: 'denied' },
    { name: 'alice cannot list by bare prefix', op: () => list('alice', 'srv/alice'), expected: 'denied' },
    { name: 'alice cannot read alice2', op: () => get('alice', 'srv/alice2/x.txt'), expected: 'denied' },
    { name: 'alice cannot write alice2', op: () => put('alice', 'srv/alice2/evil.txt'), expected: 'denied' },
    { name: 'alice cannot delete alice2', op: () => del('alice', 'srv/alice2/x.txt'), expected: 'denied' },
    { name: 'alice cannot write a sibling key', op: () => put('alice', 'srv/alice2'), expected: 'denied' },
    // bob's home and bob's logical directory alice has no entry for.
    { name: 'alice cannot list bob', op: () => list('alice', 'srv/bob/'), expected: 'denied' },
    { name: 'alice cannot read bob', op: () => get('alice', 'srv/bob/b.txt'), expected: 'denied' },
    { name: 'alice cannot read bob private', op: () => get('alice', 'srv/private/bob/p.txt'), expected: 'denied' },
    { name: 'alice cannot list bob private', op: () => list('alice', 'srv/private/bob/'), expected: 'denied' },
    { name: 'alice cannot write bob private', op: () => put('alice', 'srv/private/bob/e'), expected: 'denied' },
    { name: 'alice cannot delete bob private', op: () => del('alice', 'srv/private/bob/p.txt'), expected: 'denied' },
    { name: 'alice cannot list the server root', op: () => list('alice', 'srv/'), expected: 'denied' },
    { name: 'alice cannot list the bucket', op: () => list('alice', ''), expected: 'denied' },
    { name: 'bob reads his private directory', op: () => get('bob', 'srv/private/bob/p.txt'), expected: 'allowed' },
    { name: 'bob cannot read alice', op: () => get('bob', 'srv/alice/a.txt'), expected: 'denied' },
    // A download-only user.
    { name: 'dan lists his home', op: () => list('dan', 'srv/dan/'), expected: 'allowed' },
    { name: 'dan reads his file', op: () => get('dan', 'srv/dan/d.txt'), expected: 'allowed' },
    { name: 'dan cannot PutObject', op: () => put('dan', 'srv/dan/up.txt'), expected: 'denied' },
    { name: 'dan cannot delete', op: () => del('dan', 'srv/dan/d.txt'), expected: 'denied' },
    {
      name: 'dan cannot start a multipart upload',
      op: () => as('dan').send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'srv/dan/big' })),
      expected: 'denied',
    },
  ];

  const copy = (u: string, from: string, to: string) =>
    as(u).send(new CopyObjectCommand({ Bucket: BUCKET, Key: to, CopySource: `${BUCKET}/${from}` }));
  cases.push(
    // Rename = server-side copy + delete: each half is checked on its own key.
    {
      name: 'alice copies inside her home',
      op: () => copy('alice', 'srv/alice/a.txt', 'srv/alice/a2.txt'),
      expected: 'allowed',
    },
    {
      name: 'alice cannot copy bob into her home',
      op: () => copy('alice', 'srv/bob/b.txt', 'srv/alice/b.txt'),
      expected: 'denied',
    },
    {
      name: 'alice cannot copy her file into alice2',
      op: () => copy('alice', 'srv/alice/a.txt', 'srv/alice2/a.txt'),
      expected: 'denied',
    },
    {
      name: 'alice cannot copy into her outbox',
      op: () => copy('alice', 'srv/alice/a.txt', 'srv/alice/outbox/a.txt'),
      expected: 'denied',
    },
    // Overrides: a directory without list is denied listing; nested re-allow keeps the parent's write (documented).
    { name: 'erin lists her home', op: () => list('erin', 'srv/erin/'), expected: 'allowed' },
    { name: 'erin cannot list her blind dir', op: () => list('erin', 'srv/erin/blind/'), expected: 'denied' },
    { name: 'erin reads a known file in it', op: () => get('erin', 'srv/erin/blind/secret.txt'), expected: 'allowed' },
    { name: 'erin cannot write the blind dir', op: () => put('erin', 'srv/erin/blind/x'), expected: 'denied' },
    { name: 'erin uploads into ro/inbox', op: () => put('erin', 'srv/erin/ro/inbox/up.txt'), expected: 'allowed' },
    { name: 'erin cannot read ro/inbox', op: () => get('erin', 'srv/erin/ro/inbox/up.txt'), expected: 'denied' },
    { name: 'erin cannot delete in ro', op: () => del('erin', 'srv/erin/ro/r.txt'), expected: 'denied' },
  );

  for (const c of cases) {
    test(c.name, async () => {
      assert.equal(await outcome(c.op()), c.expected);
    });
  }

  test('alice runs a multipart upload in her home, and cannot abort one in alice2', async () => {
    const s3 = as('alice');
    const key = 'srv/alice/multi.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 7) }),
    );
    const parts = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId }));
    assert.equal(parts.Parts?.length, 1);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    // An upload alice2 started: alice cannot see its parts or abort it.
    const other = await as('alice2').send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'srv/alice2/m' }));
    assert.equal(
      await outcome(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'srv/alice2/m', UploadId: other.UploadId }))),
      'denied',
    );
    assert.equal(
      await outcome(
        s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'srv/alice2/m', UploadId: other.UploadId })),
      ),
      'denied',
    );
  });

  test('the seeded objects of other users are untouched', async () => {
    const root = minio.s3();
    for (const key of SEED) {
      const body = await (
        await root.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
      ).Body?.transformToString();
      assert.equal(body, key);
    }
    const stray = await root.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'srv/alice2' }));
    assert.deepEqual(
      stray.Contents?.map((o) => o.Key),
      ['srv/alice2/x.txt'],
    );
  });

  test('cached per user until the refresh point, then minted again (injected clock)', async () => {
    let clock = Date.now();
    const results: StsResult[] = [];
    const b = createCredentialBroker({
      mode: 'STS',
      s3: { region: minio.region, endpoint: minio.endpoint, forcePathStyle: true },
      stsEndpoint: minio.endpoint,
      baseCredentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      durationSeconds: 900,
      refreshBeforeSeconds: 400,
      now: () => clock,
      onStsRequest: (r) => results.push(r),
    });
    try {
      const provider = b.credentialsFor(loginUser('alice'), 's-refresh');
      const first = await provider();
      assert.equal((await provider()).accessKeyId, first.accessKeyId, 'cached');
      // A second login of the same user reuses them too.
      assert.equal((await b.credentialsFor(loginUser('alice'), 's-other')()).accessKeyId, first.accessKeyId);
      // The SDK is told to come back exactly at our refresh point (its own window is 5 minutes), which is
      // refreshBeforeSeconds before STS's expiry (whole seconds, so up to 1 s earlier than asked).
      const refreshAt = (first.expiration?.getTime() ?? 0) - 300_000;
      assert.ok(
        refreshAt > clock + (900 - 400 - 2) * 1000 && refreshAt <= clock + (900 - 400) * 1000,
        `${refreshAt - clock}`,
      );
      clock = refreshAt - 1;
      assert.equal((await provider()).accessKeyId, first.accessKeyId, 'still before the refresh point');
      clock = refreshAt;
      const second = await provider();
      assert.notEqual(second.accessKeyId, first.accessKeyId, 'minted again');
      assert.deepEqual(results, ['ok', 'ok']);
      // The fresh credentials work and are still scoped.
      const s3 = minio.s3(second);
      assert.equal(await outcome(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'srv/alice/a.txt' }))), 'allowed');
      assert.equal(await outcome(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'srv/bob/b.txt' }))), 'denied');
    } finally {
      b.close();
    }
  });

  test('a long multipart upload through clientFor() keeps working across a credentials refresh', async () => {
    const results: StsResult[] = [];
    // Refresh 2 s after minting: the S3 client must ask the broker again in the middle of the upload.
    const b = createCredentialBroker({
      mode: 'STS',
      s3: { region: minio.region, endpoint: minio.endpoint, forcePathStyle: true },
      stsEndpoint: minio.endpoint,
      baseCredentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      durationSeconds: 900,
      refreshBeforeSeconds: 898,
      onStsRequest: (r) => results.push(r),
    });
    try {
      const s3 = await b.clientFor(loginUser('alice'), 'long-upload');
      const key = 'srv/alice/long.bin';
      const part1Body = Buffer.alloc(5 * 1024 * 1024, 1);
      const { UploadId = '' } = await s3.createMultipartUpload({ Bucket: BUCKET, Key: key });
      const p1 = await s3.uploadPart({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: part1Body });
      const before = (await s3.credentials()).accessKeyId;
      await waitUntil(
        'the S3 client to mint new session credentials',
        async () => {
          await s3.listParts({ Bucket: BUCKET, Key: key, UploadId });
          return results.length >= 2;
        },
        { timeoutMs: 60_000 },
      );
      const afterRefresh = (await s3.credentials()).accessKeyId;
      assert.notEqual(afterRefresh, before);
      const p2 = await s3.uploadPart({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: Buffer.from('tail') });
      await s3.completeMultipartUpload({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      });
      const head = await minio.s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.equal(head.ContentLength, part1Body.length + 4);
      assert.ok(results.every((r) => r === 'ok'));
      // Still scoped after the refresh: the same client cannot touch bob.
      assert.equal(await outcome(s3.getObject({ Bucket: BUCKET, Key: 'srv/bob/b.txt' })), 'denied');
    } finally {
      b.close();
    }
  });

  test('a policy MinIO refuses fails the login as Denied and is counted, never falling back', async () => {
    const results: StsResult[] = [];
    const b = createCredentialBroker({
      mode: 'STS',
      s3: { region: minio.region, endpoint: minio.endpoint, forcePathStyle: true },
      stsEndpoint: minio.endpoint,
      baseCredentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      onStsRequest: (r) => results.push(r),
    });
    try {
      await assert.rejects(
        b.clientFor({ username: 'mallory', sessionPolicy: 'x'.repeat(3000) }, 's1'),
        (err: unknown) => err instanceof Error && 'code' in err && err.code === 'SFTPGATE_CREDENTIALS_STS_DENIED',
      );
      assert.deepEqual(results, ['denied']);
    } finally {
      b.close();
    }
  });

  test('every STS call of the suite succeeded', () => {
    assert.ok(stsResults.length >= Object.keys(USERS).length);
    assert.ok(stsResults.every((r) => r === 'ok'));
  });
});
