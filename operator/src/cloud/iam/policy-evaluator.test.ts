import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildServerRoles } from './aws-role-policies.ts';
import { allowedByAll, evaluatePolicy, PolicyEvaluationError, wildcardMatch } from './policy-evaluator.ts';
import { buildSessionPolicy, PERMISSIONS } from './session-policy.ts';

test('wildcards: * matches any run (also none), ? exactly one character, nothing else is special', () => {
  const cases: Array<[string, string, boolean]> = [
    ['arn:aws:s3:::b/p/*', 'arn:aws:s3:::b/p/', true],
    ['arn:aws:s3:::b/p/*', 'arn:aws:s3:::b/p/a/b', true],
    ['arn:aws:s3:::b/p/*', 'arn:aws:s3:::b/p2/a', false],
    ['arn:aws:s3:::b/p/?*', 'arn:aws:s3:::b/p/', false],
    ['arn:aws:s3:::b/p/?*', 'arn:aws:s3:::b/p/x', true],
    ['a.b', 'axb', false],
    ['a+(b)', 'a+(b)', true],
  ];
  for (const [p, v, want] of cases) assert.equal(wildcardMatch(p, v), want, `${p} ~ ${v}`);
});

const doc = (...Statement: Record<string, unknown>[]) => ({ Version: '2012-10-17' as const, Statement });

test('decisions: explicit deny wins, allow needs a matching statement, actions are case-insensitive', () => {
  const p = doc(
    { Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::b/*' },
    { Effect: 'Deny', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::b/keep/*' },
  );
  const table: Array<[string, string, string]> = [
    ['s3:GetObject', 'arn:aws:s3:::b/x', 'allow'],
    ['S3:getobject', 'arn:aws:s3:::b/x', 'allow'],
    ['s3:DeleteObject', 'arn:aws:s3:::b/keep/x', 'explicit-deny'],
    ['s3:ListBucket', 'arn:aws:s3:::b', 'implicit-deny'],
    ['s3:GetObject', 'arn:aws:s3:::other/x', 'implicit-deny'],
  ];
  for (const [action, resource, want] of table) assert.equal(evaluatePolicy(p, { action, resource }), want, action);
  const not = doc({ Effect: 'Allow', NotAction: 's3:Delete*', NotResource: 'arn:aws:s3:::secret/*' });
  assert.equal(evaluatePolicy(not, { action: 's3:GetObject', resource: 'arn:aws:s3:::b/x' }), 'allow');
  assert.equal(evaluatePolicy(not, { action: 's3:DeleteObject', resource: 'arn:aws:s3:::b/x' }), 'implicit-deny');
  assert.equal(evaluatePolicy(not, { action: 's3:GetObject', resource: 'arn:aws:s3:::secret/x' }), 'implicit-deny');
});

test('conditions: absent keys, negation, IfExists, Null, ForAllValues, several values', () => {
  const like = doc({
    Effect: 'Allow',
    Action: 's3:ListBucket',
    Resource: 'arn:aws:s3:::b',
    Condition: { StringLike: { 's3:prefix': ['p/*', 'q/*'] } },
  });
  const list = (prefix?: string) =>
    evaluatePolicy(like, { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', context: { 's3:prefix': prefix } });
  assert.equal(list('p/'), 'allow');
  assert.equal(list('q/a/'), 'allow');
  assert.equal(list('p'), 'implicit-deny', 'the bare prefix would also list p2/');
  assert.equal(list(undefined), 'implicit-deny', 'HeadBucket / a listing without prefix');
  const op = (Condition: Record<string, unknown>, context: Record<string, string | string[] | undefined>) =>
    evaluatePolicy(doc({ Effect: 'Allow', Action: '*', Resource: '*', Condition }), {
      action: 'x:Y',
      resource: 'r',
      context,
    });
  assert.equal(op({ StringNotLike: { k: 'a*' } }, {}), 'allow', 'negated on an absent key');
  assert.equal(op({ StringNotLike: { k: 'a*' } }, { k: 'ab' }), 'implicit-deny');
  assert.equal(op({ StringEqualsIfExists: { k: 'a' } }, {}), 'allow');
  assert.equal(op({ StringEqualsIfExists: { k: 'a' } }, { k: 'b' }), 'implicit-deny');
  assert.equal(op({ Null: { k: 'false' } }, { k: 'v' }), 'allow');
  assert.equal(op({ Null: { k: 'false' } }, {}), 'implicit-deny');
  assert.equal(op({ 'ForAllValues:StringEquals': { tags: ['a', 'b'] } }, { tags: ['a'] }), 'allow');
  assert.equal(op({ 'ForAllValues:StringEquals': { tags: ['a', 'b'] } }, { tags: ['a', 'c'] }), 'implicit-deny');
  assert.equal(op({ StringEquals: { K: 'v' } }, { k: 'v' }), 'allow', 'condition key names are case-insensitive');
});

test('what it cannot judge throws instead of allowing', () => {
  const judge = (s: Record<string, unknown>) => () => evaluatePolicy(doc(s), { action: 'a:b', resource: 'r' });
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template
  assert.throws(judge({ Effect: 'Allow', Action: '*', Resource: '${aws:username}' }), PolicyEvaluationError);
  assert.throws(
    judge({ Effect: 'Allow', Action: '*', Resource: '*', Condition: { DateGreaterThan: { t: '1' } } }),
    PolicyEvaluationError,
  );
  assert.throws(judge({ Effect: 'Allow', Action: '*', Resource: '*', Foo: 1 }), PolicyEvaluationError);
  assert.throws(judge({ Effect: 'Maybe', Action: '*', Resource: '*' }), PolicyEvaluationError);
});

test('intersection: a session policy narrows the data role, and both must allow', () => {
  const roles = buildServerRoles(
    {
      namespace: 'ns',
      name: 's',
      uid: 'u',
      serviceAccount: 's-sftp',
      bucket: 'b',
      prefix: 'tenants/acme',
      identity: { kind: 'irsa', oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/oidc.example/id/X' },
    },
    { accountId: '123456789012', partition: 'aws', region: 'eu-west-1' },
  );
  const session = buildSessionPolicy(
    { username: 'alice', permissions: [...PERMISSIONS] },
    { bucket: 'b', prefix: 'tenants/acme' },
  ).packed;
  const both = [roles.data.permissionPolicy, session];
  const get = (key: string) => ({ action: 's3:GetObject', resource: `arn:aws:s3:::b/${key}` });
  assert.ok(allowedByAll(both, get('tenants/acme/alice/f')));
  assert.ok(!allowedByAll(both, get('tenants/acme/bob/f')), 'the session policy stops another user');
  assert.ok(allowedByAll([roles.data.permissionPolicy], get('tenants/acme/bob/f')), 'the role alone would not');
  assert.ok(!allowedByAll(both, get('tenants/other/f')));
  assert.ok(!allowedByAll([], get('tenants/acme/alice/f')), 'no policy allows nothing');
  // The pod role reaches no S3 at all: only the data role, through STS.
  assert.ok(!allowedByAll([roles.pod.permissionPolicy], get('tenants/acme/alice/f')));
  assert.ok(allowedByAll([roles.pod.permissionPolicy], { action: 'sts:AssumeRole', resource: roles.data.arn }));
});
