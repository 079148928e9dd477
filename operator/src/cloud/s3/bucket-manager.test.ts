import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LifecycleRule } from '@aws-sdk/client-s3';
import { lifecycleRuleId } from '../../controllers/placement.ts';
import { desiredLifecycleRule, dirKey, isOurRuleId, mergeLifecycleRules } from './bucket-manager.ts';
import { classifyS3Error } from './errors.ts';

const settings = {
  abortIncompleteMultipartUploadDays: 1,
  noncurrentVersionExpirationDays: 30,
  expiredObjectDeleteMarker: true,
};

describe('lifecycle rules', () => {
  it('rule ids derive from profile + namespace + server: ours, under 255 characters, distinct', () => {
    assert.ok(isOurRuleId(lifecycleRuleId('minio', 'tenants', 'acme')));
    assert.ok(!isOurRuleId('keep-me'));
    assert.ok(lifecycleRuleId('p'.repeat(253), 'n'.repeat(63), 's'.repeat(253)).length <= 255);
    assert.notEqual(lifecycleRuleId('p', 'a', 'b.c'), lifecycleRuleId('p', 'a.b', 'c'));
    assert.notEqual(lifecycleRuleId('p1', 'a', 'b'), lifecycleRuleId('p2', 'a', 'b'));
  });

  it('dirKey', () => {
    assert.equal(dirKey(''), '');
    assert.equal(dirKey('a/b'), 'a/b/');
  });

  it('all actions disabled: no rule', () => {
    assert.equal(
      desiredLifecycleRule(
        { id: 'sftpgate-x', prefix: 'p' },
        {
          abortIncompleteMultipartUploadDays: 0,
          noncurrentVersionExpirationDays: 0,
          expiredObjectDeleteMarker: false,
        },
      ),
      undefined,
    );
  });

  const foreign: LifecycleRule = {
    ID: 'keep-me',
    Status: 'Enabled',
    Filter: { Prefix: 'logs/' },
    Expiration: { Days: 7 },
  };
  const id = lifecycleRuleId('minio', 'tenants', 'srv');
  const ours = desiredLifecycleRule({ id, prefix: 'sftpgate/tenants/srv' }, settings);
  const cases: {
    name: string;
    existing: LifecycleRule[];
    ours: LifecycleRule | undefined;
    want: LifecycleRule[] | undefined;
  }[] = [
    { name: 'empty bucket: add ours', existing: [], ours, want: ours ? [ours] : [] },
    { name: 'foreign rule kept, ours appended', existing: [foreign], ours, want: ours ? [foreign, ours] : [] },
    { name: 'already there: no write', existing: [foreign, ours as LifecycleRule], ours, want: undefined },
    {
      name: 'echoed back with legacy top-level Prefix: no write',
      existing: [{ ...(ours as LifecycleRule), Filter: undefined, Prefix: 'sftpgate/tenants/srv/' }],
      ours,
      want: undefined,
    },
    {
      name: 'changed days: replaced in place',
      existing: [{ ...(ours as LifecycleRule), NoncurrentVersionExpiration: { NoncurrentDays: 5 } }, foreign],
      ours,
      want: ours ? [ours, foreign] : [],
    },
    { name: 'remove ours, keep foreign', existing: [foreign, ours as LifecycleRule], ours: undefined, want: [foreign] },
    { name: 'remove when absent: no write', existing: [foreign], ours: undefined, want: undefined },
    {
      name: "another server's sftpgate rule is kept",
      existing: [{ ...(ours as LifecycleRule), ID: lifecycleRuleId('minio', 'tenants', 'other') }],
      ours,
      want: ours ? [{ ...ours, ID: lifecycleRuleId('minio', 'tenants', 'other') }, ours] : [],
    },
  ];
  for (const c of cases) {
    it(`merge: ${c.name}`, () => assert.deepEqual(mergeLifecycleRules(c.existing, id, c.ours), c.want));
  }
});

describe('classifyS3Error', () => {
  const cases: { name: string; err: unknown; what: string; code: string; transient: boolean }[] = [
    {
      name: 'no such bucket',
      err: { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } },
      what: 'GetX',
      code: 'SFTPGATE_S3_BUCKET_NOT_FOUND',
      transient: false,
    },
    {
      name: 'HeadBucket 404',
      err: { name: 'NotFound', $metadata: { httpStatusCode: 404 } },
      what: 'HeadBucket b',
      code: 'SFTPGATE_S3_BUCKET_NOT_FOUND',
      transient: false,
    },
    {
      name: 'bad key',
      err: { name: 'InvalidAccessKeyId' },
      what: 'x',
      code: 'SFTPGATE_S3_INVALID_CREDENTIALS',
      transient: false,
    },
    {
      name: '403',
      err: { name: 'Forbidden', $metadata: { httpStatusCode: 403 } },
      what: 'x',
      code: 'SFTPGATE_S3_ACCESS_DENIED',
      transient: false,
    },
    {
      name: 'refused',
      err: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      what: 'x',
      code: 'SFTPGATE_S3_UNREACHABLE',
      transient: true,
    },
    {
      name: '503',
      err: { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } },
      what: 'x',
      code: 'SFTPGATE_S3_REQUEST_FAILED',
      transient: true,
    },
    {
      name: '400',
      err: { name: 'MalformedXML', $metadata: { httpStatusCode: 400 } },
      what: 'x',
      code: 'SFTPGATE_S3_REQUEST_FAILED',
      transient: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const e = classifyS3Error(c.err, c.what);
      assert.equal(e.code, c.code);
      assert.equal(e.transient, c.transient);
      assert.equal(e.cause, c.err);
    });
  }
});
