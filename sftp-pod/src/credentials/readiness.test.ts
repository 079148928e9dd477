import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { S3Client } from '../../../common/src/s3/client.ts';
import type { CredentialBroker } from './broker.ts';
import { createS3ReadinessCheck, partitionOf, READINESS_IDENTITY, readinessPolicy } from './readiness.ts';

test('the readiness session policy lists only the server prefix (no bucket-wide ListBucket)', () => {
  assert.deepEqual(JSON.parse(readinessPolicy('b', '/tenants/acme/', 'aws-cn')), {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: 'arn:aws-cn:s3:::b',
        Condition: { StringLike: { 's3:prefix': 'tenants/acme/*' } },
      },
    ],
  });
  assert.equal(JSON.parse(readinessPolicy('b', '')).Statement[0].Condition, undefined, 'a whole-bucket server');
  assert.equal(partitionOf('arn:aws-us-gov:iam::123456789012:role/x'), 'aws-us-gov');
  assert.equal(partitionOf(undefined), 'aws');
});

/** A fake S3 client recording what it was sent; `fail` makes it reject. */
function fakeClient(sent: unknown[], fail = false): S3Client {
  return {
    listObjectsV2: async (input: unknown) => {
      sent.push(input);
      if (fail) throw new Error('AccessDenied');
      return {};
    },
  } as unknown as S3Client;
}

test('None: lists <prefix>/ with the base client; at most one probe per interval; failures say false', async () => {
  const sent: unknown[] = [];
  let t = 0;
  const errors: unknown[] = [];
  const check = createS3ReadinessCheck({
    bucket: 'b',
    prefix: 'srv',
    baseClient: fakeClient(sent),
    now: () => t,
    onError: (e) => errors.push(e),
  });
  assert.equal(await check(), true);
  assert.equal(await check(), true);
  assert.deepEqual(sent, [{ Bucket: 'b', MaxKeys: 1, Prefix: 'srv/' }]);
  t = 10_001;
  await check();
  assert.equal(sent.length, 2);
  const failing = createS3ReadinessCheck({ bucket: 'b', prefix: '', baseClient: fakeClient([], true) });
  assert.equal(await failing(), false);
});

test('STS/AWS: the probe runs on a broker session of the readiness identity, never on the base client', async () => {
  const base: unknown[] = [];
  const session: unknown[] = [];
  const asked: Array<{ username: string; sessionPolicy?: string | null | undefined }> = [];
  const broker = {
    clientFor: async (user: { username: string; sessionPolicy?: string | null }) => {
      asked.push(user);
      return fakeClient(session);
    },
  } as unknown as CredentialBroker;
  const check = createS3ReadinessCheck({ bucket: 'b', prefix: 'srv', baseClient: fakeClient(base), broker });
  assert.equal(await check(), true);
  assert.equal(base.length, 0);
  assert.equal(session.length, 1);
  assert.equal(asked[0]?.username, READINESS_IDENTITY);
  assert.equal(asked[0]?.sessionPolicy, readinessPolicy('b', 'srv'));
});
