import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IAMServiceException } from '@aws-sdk/client-iam';
import { buildServerRoles, roleNames } from './aws-role-policies.ts';
import { classifyIamError } from './classify-aws-error.ts';
import { IamErrorCode } from './errors.ts';

const account = { accountId: '111122223333', partition: 'aws', region: 'eu-west-1' };

test('role names are valid IAM names, at most 64 characters, and distinct when truncated', () => {
  const long = 'n'.repeat(253);
  const names = [
    roleNames('tenants', 'acme'),
    roleNames('t'.repeat(63), long),
    roleNames('t'.repeat(63), `${long.slice(0, -1)}x`),
    roleNames('a.b', 'c_d'),
  ];
  for (const n of names) {
    for (const role of [n.pod, n.data]) {
      assert.ok(role.length <= 64, role);
      assert.match(role, /^[\w+=,.@-]+$/);
    }
  }
  assert.notEqual(names[1]?.pod, names[2]?.pod, 'same truncated slug, different hash');
  assert.match(roleNames('tenants', 'acme').pod, /^sftpgate-tenants-acme-[0-9a-f]{10}-pod$/);
});

test('an empty server prefix grants the whole bucket without a prefix condition; the digest follows the documents', () => {
  const base = {
    namespace: 'n',
    name: 's',
    uid: 'u',
    serviceAccount: 's-sftp',
    bucket: 'b',
    prefix: '',
    identity: { kind: 'irsa', oidcProviderArn: 'arn:aws:iam::111122223333:oidc-provider/o/id/1' },
  } as const;
  const roles = buildServerRoles(base, account);
  assert.deepEqual(roles.data.permissionPolicy.Statement[0], {
    Effect: 'Allow',
    Action: 's3:ListBucket',
    Resource: 'arn:aws:s3:::b',
  });
  assert.equal(roles.data.permissionPolicy.Statement[1]?.['Resource'], 'arn:aws:s3:::b/*');
  assert.equal(buildServerRoles(base, account).digest, roles.digest);
  assert.notEqual(buildServerRoles({ ...base, prefix: 'p' }, account).digest, roles.digest);
  assert.notEqual(
    buildServerRoles({ ...base, permissionsBoundaryArn: 'arn:aws:iam::1:policy/x' }, account).digest,
    roles.digest,
  );
  // The uid is not part of the documents: a recreated server gets the same policies (ownership is in the tags).
  assert.equal(buildServerRoles({ ...base, uid: 'other' }, account).digest, roles.digest);
});

test('IAM SDK errors are classified into stable codes', () => {
  const sdkError = (name: string, status: number, fault: 'client' | 'server') =>
    new IAMServiceException({ name, $fault: fault, $metadata: { httpStatusCode: status }, message: name });
  const cases: { name: string; err: unknown; code: IamErrorCode }[] = [
    { name: 'access denied', err: sdkError('AccessDenied', 403, 'client'), code: IamErrorCode.AccessDenied },
    { name: 'limit', err: sdkError('LimitExceededException', 409, 'client'), code: IamErrorCode.LimitExceeded },
    {
      name: 'malformed',
      err: sdkError('MalformedPolicyDocumentException', 400, 'client'),
      code: IamErrorCode.InvalidInput,
    },
    {
      name: 'trust principal not yet visible (IAM eventual consistency)',
      err: new IAMServiceException({
        name: 'MalformedPolicyDocumentException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Invalid principal in policy: "AWS":"arn:aws:iam::1:role/sftpgate/x-pod"',
      }),
      code: IamErrorCode.Unavailable,
    },
    { name: 'throttling', err: sdkError('Throttling', 400, 'client'), code: IamErrorCode.Unavailable },
    {
      name: 'service failure',
      err: sdkError('ServiceFailureException', 500, 'server'),
      code: IamErrorCode.Unavailable,
    },
    { name: 'unknown 5xx', err: sdkError('Whatever', 503, 'server'), code: IamErrorCode.Unavailable },
    { name: 'unknown 4xx', err: sdkError('Whatever', 400, 'client'), code: IamErrorCode.Failure },
    {
      name: 'network',
      err: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      code: IamErrorCode.Unavailable,
    },
    { name: 'abort', err: Object.assign(new Error('aborted'), { name: 'AbortError' }), code: IamErrorCode.Aborted },
  ];
  for (const c of cases) {
    const e = classifyIamError('get role r', c.err);
    assert.equal(e.code, c.code, c.name);
    assert.equal(e.cause, c.err, c.name);
    assert.ok(e.message.startsWith('get role r: '), c.name);
  }
});
