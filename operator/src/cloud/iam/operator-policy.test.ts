// Keeps the operator's own IAM policy (shipped in the chart), the manager's IAM calls and docs/iam.md in step:
// a call the policy does not allow would fail only in a real account, long after CI.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderPolicies } from '../../../../charts/sftpgate/hack/operator-policies.ts';
import { DEFAULT_IAM_PATH, TAG_NAME, TAG_NAMESPACE, TAG_UID } from './aws-role-policies.ts';
import { IamErrorCode } from './errors.ts';

const root = new URL('../../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Statement {
  Sid: string;
  Action: string | string[];
  Resource: string;
  Condition?: Record<string, Record<string, unknown>>;
}

const policy = JSON.parse(read('charts/sftpgate/files/operator-iam-policy.json')) as { Statement: Statement[] };
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

test('every IAM command the manager sends is allowed by the operator policy, and nothing more', () => {
  const source = read('operator/src/cloud/iam/aws-iam-manager.ts');
  const used = new Set([...source.matchAll(/new (\w+)Command\(/g)].map((m) => `iam:${m[1]}`));
  const allowed = new Set(policy.Statement.flatMap(actions));
  // CreateRole with Tags also needs iam:TagRole (AWS authorises both), and the repair path calls TagRole itself.
  assert.deepEqual([...used].sort(), [...allowed].sort());
});

test('the policy only reaches roles under the sftpgate path, and writes only to roles carrying our uid tag', () => {
  for (const s of policy.Statement) {
    // The one exception: GetRole of a role that does not exist is authorised on the path-less ARN (role/<name>).
    const resource =
      s.Sid === 'LookUpRolesBeforeTheyExist'
        ? 'arn:aws:iam::*:role/sftpgate-*'
        : `arn:aws:iam::*:role${DEFAULT_IAM_PATH}*`;
    assert.equal(s.Resource, resource, s.Sid);
  }
  assert.deepEqual(actions(policy.Statement.find((s) => s.Sid === 'LookUpRolesBeforeTheyExist') as Statement), [
    'iam:GetRole',
  ]);
  const writes = policy.Statement.find((s) => s.Sid === 'ChangeAndDeleteOnlyOwnedRoles');
  assert.deepEqual(writes?.Condition, { Null: { [`aws:ResourceTag/${TAG_UID}`]: 'false' } });
  for (const sid of ['CreateRolesOnlyWithOwnershipTags', 'SetOnlyOwnershipTags']) {
    const s = policy.Statement.find((x) => x.Sid === sid);
    assert.deepEqual(s?.Condition?.['ForAllValues:StringEquals'], {
      'aws:TagKeys': [TAG_NAMESPACE, TAG_NAME, TAG_UID],
    });
  }
});

test('docs/iam.md lists every IAM and credential error code', () => {
  const doc = read('docs/iam.md');
  const credentialErrors = read('sftp-pod/src/credentials/errors.ts');
  const codes = [
    ...Object.values(IamErrorCode),
    ...[...credentialErrors.matchAll(/'(SFTPGATE_CREDENTIALS_[A-Z_]+)'/g)].map((m) => m[1] ?? ''),
  ];
  assert.ok(codes.length > 10);
  for (const code of codes) assert.ok(doc.includes(code), `${code} is documented in docs/iam.md`);
});

test('the chart ships exactly what the builders produce (make generate writes the files)', () => {
  const out = renderPolicies();
  assert.deepEqual(JSON.parse(read('charts/sftpgate/files/operator-iam-policy.json')), JSON.parse(out.iam));
  assert.deepEqual(JSON.parse(read('charts/sftpgate/files/operator-s3-policy.json')), JSON.parse(out.s3));
  assert.deepEqual(JSON.parse(read('charts/sftpgate/files/profile-credentials-policy.json')), JSON.parse(out.profile));
});

test('every S3 command the bucket manager sends maps to an action the operator S3 policy allows', () => {
  // The map from SDK command to IAM action (AWS's "actions defined by Amazon S3"); a new command fails here until
  // it is mapped and granted. The live proof (each call, resource and prefix) is test/integration/iam-enforcement.
  const ACTION: Record<string, string[]> = {
    HeadBucket: ['s3:ListBucket'],
    GetBucketVersioning: ['s3:GetBucketVersioning'],
    GetBucketLifecycleConfiguration: ['s3:GetLifecycleConfiguration'],
    PutBucketLifecycleConfiguration: ['s3:PutLifecycleConfiguration'],
    DeleteBucketLifecycle: ['s3:PutLifecycleConfiguration'],
    HeadObject: ['s3:GetObject'],
    PutObject: ['s3:PutObject'],
    ListObjectVersions: ['s3:ListBucketVersions'],
    DeleteObjects: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  };
  const source = read('operator/src/cloud/s3/bucket-manager.ts');
  const used = [...new Set([...source.matchAll(/new (\w+)Command\(/g)].map((m) => m[1] ?? ''))];
  const s3 = JSON.parse(read('charts/sftpgate/files/operator-s3-policy.json')) as { Statement: Statement[] };
  const granted = new Set(s3.Statement.flatMap(actions));
  for (const command of used) {
    const needed = ACTION[command];
    assert.ok(needed, `${command} is mapped to its IAM action`);
    for (const a of needed) assert.ok(granted.has(a), `${command} needs ${a}`);
  }
  assert.deepEqual([...granted].sort(), [...new Set(Object.values(ACTION).flat())].sort(), 'nothing more');
});
