// Keeps the operator's own IAM policy (shipped in the chart), the manager's IAM calls and docs/iam.md in step:
// a call the policy does not allow would fail only in a real account, long after CI.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
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
  for (const s of policy.Statement) assert.equal(s.Resource, `arn:aws:iam::*:role${DEFAULT_IAM_PATH}*`, s.Sid);
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
