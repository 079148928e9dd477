// The AWS mode of the IAM manager end to end at the API level, against a real moto server: roles, trust policies,
// permission policies and tags created, updated when the spec changes, repaired after drift, deleted on server
// deletion, and foreign roles never touched.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRoleTagsCommand,
  PutRolePolicyCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createAwsIamManager } from '../../operator/src/cloud/iam/aws-iam-manager.ts';
import {
  type AwsAccount,
  type AwsIamServer,
  roleNames,
  TAG_NAME,
  TAG_NAMESPACE,
  TAG_UID,
} from '../../operator/src/cloud/iam/aws-role-policies.ts';
import { IamErrorCode, isIamError } from '../../operator/src/cloud/iam/errors.ts';
import { createIamIntegration } from '../../operator/src/cloud/iam/integration.ts';
import { operatorIamPolicy } from '../../operator/src/cloud/iam/operator-policy.ts';
import { allowedByAll } from '../../operator/src/cloud/iam/policy-evaluator.ts';
import { buildSessionPolicy } from '../../operator/src/cloud/iam/session-policy.ts';
import { locate } from '../../operator/src/controllers/placement.ts';
import { profileFixture, serverFixture } from '../../operator/src/controllers/testing/fixtures.ts';
import { createCredentialBroker } from '../../sftp-pod/src/credentials/broker.ts';
import type { StsResult } from '../../sftp-pod/src/credentials/errors.ts';
import { type AwsRecorder, startAwsRecorder } from '../infra/aws-recorder.ts';
import { type Moto, startMoto } from '../infra/index.ts';

function parseDoc(doc: string | undefined): unknown {
  assert.ok(doc, 'a policy document');
  try {
    return JSON.parse(doc);
  } catch {
    return JSON.parse(decodeURIComponent(doc));
  }
}

/** The operator's access key on the recorded IAM client (moto accepts any). */
const OPERATOR_KEY = 'AKIASFTPGATEOPERATOR';

describe('AWS IAM manager against moto', () => {
  let moto: Moto;
  /** The test's own client (arranging drift, reading results), through the recorder so it tracks role tags. */
  let iam: IAMClient;
  /** The manager's client: every call it makes is recorded and checked against the operator's IAM policy. */
  let operatorIam: IAMClient;
  let recorder: AwsRecorder;
  let account: AwsAccount;

  const server = (over: Partial<AwsIamServer> = {}): AwsIamServer => ({
    namespace: 'tenants',
    name: 'acme',
    uid: '6a1f0f0e-1111-4c3b-9d2e-000000000001',
    serviceAccount: 'acme-sftp',
    bucket: 'acme-sftp',
    prefix: 'srv/acme',
    identity: { kind: 'irsa', oidcProviderArn: `arn:aws:iam::123456789012:oidc-provider/oidc.eks.example/id/ABC` },
    ...over,
  });

  const tagsOf = async (roleName: string) => {
    const out = await iam.send(new ListRoleTagsCommand({ RoleName: roleName }));
    return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key, t.Value]));
  };
  const inlinePolicy = async (roleName: string, policyName: string) =>
    parseDoc((await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }))).PolicyDocument);
  const trustOf = async (roleName: string) =>
    parseDoc((await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role?.AssumeRolePolicyDocument);
  const exists = async (roleName: string) => {
    try {
      await iam.send(new GetRoleCommand({ RoleName: roleName }));
      return true;
    } catch (err) {
      if (err instanceof Error && err.name === 'NoSuchEntityException') return false;
      throw err;
    }
  };

  before(async () => {
    moto = await startMoto();
    recorder = await startAwsRecorder(moto.endpoint, { iamAccountId: moto.accountId });
    const via = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
      new IAMClient({ endpoint: recorder.url, region: moto.region, credentials });
    iam = via(moto.credentials);
    operatorIam = via({ accessKeyId: OPERATOR_KEY, secretAccessKey: 'operator' });
    account = { accountId: moto.accountId, partition: 'aws', region: moto.region };
  });
  after(async () => {
    iam?.destroy();
    operatorIam?.destroy();
    await recorder?.close();
    await moto?.stop();
  });

  test('ensure creates both roles with trust chain, scoped policies and ownership tags; a second pass writes nothing', async () => {
    const manager = createAwsIamManager({ iam: operatorIam, account });
    const s = server({ kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/k-1' });
    const names = roleNames(s.namespace, s.name);
    const status = await manager.ensure(s);
    assert.equal(status.podRoleArn, `arn:aws:iam::${moto.accountId}:role/sftpgate/${names.pod}`);
    assert.equal(status.dataRoleArn, `arn:aws:iam::${moto.accountId}:role/sftpgate/${names.data}`);
    assert.match(status.policyDigest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(status.changes, [
      `created role ${names.pod}`,
      `put policy sftpgate-pod of ${names.pod}`,
      `created role ${names.data}`,
      `put policy sftpgate-data of ${names.data}`,
    ]);

    // Pod role: trusted by the cluster's OIDC provider for exactly this ServiceAccount; may only assume the data role.
    assert.deepEqual(await trustOf(names.pod), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: 'arn:aws:iam::123456789012:oidc-provider/oidc.eks.example/id/ABC' },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              'oidc.eks.example/id/ABC:sub': 'system:serviceaccount:tenants:acme-sftp',
              'oidc.eks.example/id/ABC:aud': 'sts.amazonaws.com',
            },
          },
        },
      ],
    });
    assert.deepEqual(await inlinePolicy(names.pod, 'sftpgate-pod'), {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'], Resource: status.dataRoleArn },
      ],
    });
    // Data role: trusts only the pod role, only for named sessions with a source identity.
    assert.deepEqual(await trustOf(names.data), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: status.podRoleArn },
          Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
          Condition: { StringLike: { 'sts:RoleSessionName': 'sftpgate-*', 'sts:SourceIdentity': '*' } },
        },
      ],
    });
    assert.deepEqual(await inlinePolicy(names.data, 'sftpgate-data'), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::acme-sftp',
          Condition: { StringLike: { 's3:prefix': 'srv/acme/*' } },
        },
        {
          Effect: 'Allow',
          Action: [
            's3:AbortMultipartUpload',
            's3:DeleteObject',
            's3:GetObject',
            's3:GetObjectTagging',
            's3:ListMultipartUploadParts',
            's3:PutObject',
            's3:PutObjectTagging',
          ],
          Resource: 'arn:aws:s3:::acme-sftp/srv/acme/*',
        },
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: 'arn:aws:kms:us-east-1:123456789012:key/k-1',
        },
      ],
    });
    for (const role of [names.pod, names.data]) {
      assert.deepEqual(await tagsOf(role), {
        [TAG_NAMESPACE]: 'tenants',
        [TAG_NAME]: 'acme',
        [TAG_UID]: s.uid,
      });
      const got = await iam.send(new GetRoleCommand({ RoleName: role }));
      assert.equal(got.Role?.Path, '/sftpgate/');
      assert.equal(got.Role?.MaxSessionDuration, 3600);
    }

    const again = await manager.ensure(s);
    assert.deepEqual(again.changes, [], 'second pass writes nothing');
    assert.equal(again.policyDigest, status.policyDigest);
  });

  test('a spec change (prefix, Pod Identity, permissions boundary) updates the roles in place', async () => {
    const manager = createAwsIamManager({ iam: operatorIam, account });
    const boundary = (
      await iam.send(
        new CreatePolicyCommand({
          PolicyName: 'platform-boundary',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: ['s3:*', 'sts:*', 'kms:*'], Resource: '*' }],
          }),
        }),
      )
    ).Policy?.Arn;
    assert.ok(boundary);
    const before = await manager.ensure(server());
    const s = server({
      prefix: 'srv/acme-v2',
      identity: { kind: 'podIdentity', clusterName: 'prod-eu', accountId: '210987654321' },
      permissionsBoundaryArn: boundary,
    });
    const names = roleNames(s.namespace, s.name);
    const status = await manager.ensure(s);
    assert.notEqual(status.policyDigest, before.policyDigest);
    assert.ok(status.changes.includes(`repaired trust policy of ${names.pod}`), status.changes.join('; '));
    assert.ok(status.changes.includes(`repaired policy sftpgate-data of ${names.data}`));
    assert.ok(status.changes.includes(`repaired permissions boundary of ${names.pod}`));
    assert.deepEqual(await trustOf(names.pod), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: {
            StringEquals: {
              'aws:SourceAccount': '210987654321',
              'aws:RequestTag/kubernetes-namespace': 'tenants',
              'aws:RequestTag/kubernetes-service-account': 'acme-sftp',
            },
            ArnEquals: { 'aws:SourceArn': `arn:aws:eks:${moto.region}:210987654321:cluster/prod-eu` },
          },
        },
      ],
    });
    const data = (await inlinePolicy(names.data, 'sftpgate-data')) as { Statement: { Resource: string }[] };
    assert.equal(data.Statement[1]?.Resource, 'arn:aws:s3:::acme-sftp/srv/acme-v2/*');
    for (const role of [names.pod, names.data]) {
      const got = await iam.send(new GetRoleCommand({ RoleName: role }));
      assert.equal(got.Role?.PermissionsBoundary?.PermissionsBoundaryArn, boundary);
    }
    assert.deepEqual((await manager.ensure(s)).changes, []);

    // Removing the boundary from the spec removes it from the roles.
    const without = await manager.ensure(server());
    assert.ok(without.changes.includes(`repaired permissions boundary of ${names.data}`));
    const got = await iam.send(new GetRoleCommand({ RoleName: names.data }));
    assert.equal(got.Role?.PermissionsBoundary, undefined);
  });

  test('drift is repaired: edited policies and trust, extra grants, lost tags', async () => {
    const manager = createAwsIamManager({ iam: operatorIam, account });
    const s = server();
    const names = roleNames(s.namespace, s.name);
    const good = await manager.ensure(s);
    assert.deepEqual(good.changes, []);
    const wide = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
    });
    // Someone widens the data role in the console, opens the trust to the whole account and drops a tag.
    await iam.send(
      new PutRolePolicyCommand({ RoleName: names.data, PolicyName: 'sftpgate-data', PolicyDocument: wide }),
    );
    await iam.send(new PutRolePolicyCommand({ RoleName: names.data, PolicyName: 'extra', PolicyDocument: wide }));
    const managed = (await iam.send(new CreatePolicyCommand({ PolicyName: 'wide-managed', PolicyDocument: wide })))
      .Policy?.Arn;
    assert.ok(managed);
    await iam.send(new AttachRolePolicyCommand({ RoleName: names.data, PolicyArn: managed }));
    await iam.send(
      new UpdateAssumeRolePolicyCommand({
        RoleName: names.data,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${moto.accountId}:root` }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    // The human-readable tags are edited; the uid tag (the proof of ownership) stays.
    await iam.send(new UntagRoleCommand({ RoleName: names.pod, TagKeys: [TAG_NAME] }));
    await iam.send(new TagRoleCommand({ RoleName: names.data, Tags: [{ Key: TAG_NAMESPACE, Value: 'elsewhere' }] }));
    const repaired = await manager.ensure(s);
    assert.deepEqual(
      new Set(repaired.changes),
      new Set([
        `repaired tags of ${names.pod}`,
        `repaired trust policy of ${names.data}`,
        `repaired tags of ${names.data}`,
        `repaired policy sftpgate-data of ${names.data}`,
        `removed foreign inline policy extra from ${names.data}`,
        `detached managed policy ${managed} from ${names.data}`,
      ]),
    );
    assert.deepEqual((await iam.send(new ListRolePoliciesCommand({ RoleName: names.data }))).PolicyNames, [
      'sftpgate-data',
    ]);
    assert.deepEqual(
      (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: names.data }))).AttachedPolicies,
      [],
    );
    const trust = (await trustOf(names.data)) as { Statement: { Principal: unknown }[] };
    assert.deepEqual(trust.Statement[0]?.Principal, { AWS: repaired.podRoleArn });
    for (const role of [names.pod, names.data]) {
      assert.deepEqual(await tagsOf(role), { [TAG_NAMESPACE]: 'tenants', [TAG_NAME]: 'acme', [TAG_UID]: s.uid });
    }
    assert.deepEqual((await manager.ensure(s)).changes, []);
  });

  test('foreign roles with our names are never adopted, changed or deleted', async () => {
    const manager = createAwsIamManager({ iam: operatorIam, account });
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    // 1. Same name, no tags at all. 2. Same name, tagged for the same namespace/name but another uid (a previous
    // incarnation of the server, or someone copying our tags).
    const untagged = server({ name: 'untagged', uid: 'uid-untagged' });
    const stale = server({ name: 'stale', uid: 'uid-new' });
    const u = roleNames(untagged.namespace, untagged.name);
    const st = roleNames(stale.namespace, stale.name);
    await iam.send(new CreateRoleCommand({ RoleName: u.pod, Path: '/sftpgate/', AssumeRolePolicyDocument: trust }));
    await iam.send(
      new CreateRoleCommand({
        RoleName: st.data,
        Path: '/sftpgate/',
        AssumeRolePolicyDocument: trust,
        Tags: [
          { Key: TAG_NAMESPACE, Value: 'tenants' },
          { Key: TAG_NAME, Value: 'stale' },
          { Key: TAG_UID, Value: 'uid-old' },
        ],
      }),
    );
    await assert.rejects(
      manager.ensure(untagged),
      (err: unknown) => isIamError(err, IamErrorCode.Conflict) && !err.retryable && err.message.includes(u.pod),
    );
    await assert.rejects(manager.ensure(stale), (err: unknown) => isIamError(err, IamErrorCode.Conflict));
    // Untouched: same trust, no policies, no tags added.
    assert.deepEqual(await trustOf(u.pod), JSON.parse(trust));
    assert.deepEqual(await tagsOf(u.pod), {});
    assert.deepEqual(await tagsOf(st.data), { [TAG_NAMESPACE]: 'tenants', [TAG_NAME]: 'stale', [TAG_UID]: 'uid-old' });
    assert.deepEqual((await iam.send(new ListRolePoliciesCommand({ RoleName: st.data }))).PolicyNames, []);

    // Deleting these servers deletes what is provably theirs (the stale server's pod role, created before the
    // conflict stopped the pass) and skips the foreign roles.
    const d1 = await manager.delete(untagged);
    assert.deepEqual(d1, { deleted: [], skipped: [u.pod] });
    const d2 = await manager.delete(stale);
    assert.deepEqual(d2, { deleted: [st.pod], skipped: [st.data] });
    assert.ok(await exists(u.pod));
    assert.ok(await exists(st.data));
  });

  test('delete removes both roles of the server, and only those; it is idempotent', async () => {
    const manager = createAwsIamManager({ iam: operatorIam, account });
    const a = server({ name: 'to-delete', uid: 'uid-a' });
    const b = server({ name: 'neighbour', uid: 'uid-b' });
    const na = roleNames(a.namespace, a.name);
    const nb = roleNames(b.namespace, b.name);
    await manager.ensure(a);
    await manager.ensure(b);
    // Same namespace/name, another uid: a newer incarnation must not be able to delete the older one's roles.
    assert.deepEqual(await manager.delete({ ...a, uid: 'uid-other' }), { deleted: [], skipped: [na.data, na.pod] });
    assert.deepEqual(await manager.delete(a), { deleted: [na.data, na.pod], skipped: [] });
    assert.equal(await exists(na.pod), false);
    assert.equal(await exists(na.data), false);
    assert.ok(await exists(nb.pod));
    assert.ok(await exists(nb.data));
    assert.deepEqual(await manager.delete(a), { deleted: [], skipped: [] });
    assert.deepEqual((await manager.ensure(b)).changes, []);
  });

  test('bad input is refused before any IAM call; IAM errors are classified', async () => {
    const manager = createAwsIamManager({ iam: operatorIam, account });
    await assert.rejects(manager.ensure(server({ name: 'bad', prefix: 'srv/*' })), (err: unknown) =>
      isIamError(err, IamErrorCode.InvalidInput),
    );
    assert.equal(await exists(roleNames('tenants', 'bad').pod), false);
    await assert.rejects(
      manager.ensure(server({ name: 'bad', identity: { kind: 'irsa', oidcProviderArn: 'not-an-arn' } })),
      (err: unknown) => isIamError(err, IamErrorCode.InvalidInput),
    );
    await assert.rejects(manager.ensure(server({ name: 'aborted' }), AbortSignal.abort()), (err: unknown) =>
      isIamError(err, IamErrorCode.Aborted),
    );
    assert.equal(await exists(roleNames('tenants', 'aborted').pod), false);
    // An unreachable IAM endpoint is Unavailable (retryable).
    const { IAMClient } = await import('@aws-sdk/client-iam');
    const dead = new IAMClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: moto.credentials,
      maxAttempts: 1,
    });
    try {
      await assert.rejects(
        createAwsIamManager({ iam: dead, account }).ensure(server({ name: 'dead' })),
        (err: unknown) => isIamError(err, IamErrorCode.Unavailable) && err.retryable,
      );
    } finally {
      dead.destroy();
    }
  });

  test("through the controllers' integration point, then a login of the AWS-mode broker assumes the data role", async () => {
    const integration = createIamIntegration({ aws: { iam: operatorIam, account } });
    // The platform's profile (mode AWS, IRSA) and the server the operator placed on it: srv/tenants/wired.
    const profile = profileFixture((p) => {
      p.bucket = 'acme-sftp';
      p.root = 'srv';
      p.region = moto.region;
      delete p.endpoint;
      delete p.credentials;
      p.iam = {
        mode: 'AWS',
        aws: {
          irsa: { oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/oidc.example/id/1' },
          path: '/sftpgate/',
        },
      };
    });
    const server = serverFixture();
    server.metadata = { name: 'wired', namespace: 'tenants', uid: 'uid-wired', generation: 1 };
    const sftpServer = { server, placement: locate(profile, 'tenants', 'wired') };
    const names = roleNames('tenants', 'wired');
    const r = await integration.reconcileServer(sftpServer, AbortSignal.timeout(30_000));
    assert.equal(r.ready, true, r.message);
    assert.equal(r.status?.dataRoleArn, `arn:aws:iam::${moto.accountId}:role/sftpgate/${names.data}`);
    assert.match(r.status?.policyDigest ?? '', /^sha256:/);
    // The pod role trusts the server's ServiceAccount, named as the server controller names it.
    const trust = JSON.stringify(await trustOf(names.pod));
    assert.ok(trust.includes('system:serviceaccount:tenants:wired-sftp'), trust);

    // A login: the pod's broker (base credentials stand in for the pod role's) assumes the data role with the
    // session policy, a session name naming user and session, and the user as source identity.
    const results: StsResult[] = [];
    const broker = createCredentialBroker({
      mode: 'AWS',
      s3: { region: moto.region, endpoint: moto.endpoint },
      stsEndpoint: moto.endpoint,
      roleArn: r.status?.dataRoleArn ?? '',
      baseCredentials: moto.credentials,
      onStsRequest: (x) => results.push(x),
    });
    try {
      const policy = buildSessionPolicy(
        { username: 'alice', permissions: ['list', 'download'] },
        {
          bucket: 'acme-sftp',
          prefix: 'srv/tenants/wired',
        },
      ).packed;
      const creds = await broker.credentialsFor({ username: 'alice', sessionPolicy: policy }, 'f00dfeed-1234')();
      const sts = new STSClient({ region: moto.region, endpoint: moto.endpoint, credentials: creds });
      try {
        const me = await sts.send(new GetCallerIdentityCommand({}));
        assert.equal(me.Arn, `arn:aws:sts::${moto.accountId}:assumed-role/${names.data}/sftpgate-alice-f00dfeed`);
      } finally {
        sts.destroy();
      }
      assert.deepEqual(results, ['ok']);
    } finally {
      broker.close();
    }

    await integration.cleanupServer?.(sftpServer, AbortSignal.timeout(30_000));
    assert.equal(await exists(names.pod), false);
    assert.equal(await exists(names.data), false);
  });
  // moto executes IAM calls but evaluates no policy: the operator's IAM document is checked here by the evaluator on
  // every call the manager made above (creates, repairs, deletes, conflicts), with aws:RequestTag/aws:TagKeys from the
  // call and aws:ResourceTag from the role's tags at that moment (the recorder follows every successful tag change,
  // the test's own drift included). MinIO cannot do this part: these lines stay unproved by a real AWS account.
  test("every IAM call of the manager is allowed by the operator's IAM policy (evaluator over the recorded calls)", () => {
    const policy = operatorIamPolicy();
    const calls = recorder.calls.filter((c) => c.accessKeyId === OPERATOR_KEY);
    assert.ok(calls.length > 50, `IAM calls recorded: ${calls.length}`);
    const refused: string[] = [];
    for (const c of calls) {
      if (c.service !== 'iam') refused.push(`${c.operation}: not an IAM call`);
      for (const q of c.requests) {
        if (!allowedByAll([policy], q)) refused.push(`${q.action} ${q.resource} ${JSON.stringify(q.context)}`);
      }
    }
    assert.deepEqual(refused, []);
    const actions = [...new Set(calls.map((c) => c.operation))].sort();
    for (const a of ['CreateRole', 'DeleteRole', 'PutRolePolicy', 'UpdateAssumeRolePolicy', 'TagRole', 'GetRole']) {
      assert.ok(actions.includes(a), `the run exercised ${a}: ${actions.join(', ')}`);
    }
    // And it would refuse what the operator must not do: write to a role without our ownership tag.
    const foreign = { 'aws:ResourceTag/team': 'x' };
    assert.ok(
      !allowedByAll([policy], {
        action: 'iam:PutRolePolicy',
        resource: `arn:aws:iam::${moto.accountId}:role/sftpgate/x`,
        context: foreign,
      }),
    );
    assert.ok(
      !allowedByAll([policy], {
        action: 'iam:CreateRole',
        resource: `arn:aws:iam::${moto.accountId}:role/admin`,
        context: {},
      }),
    );
  });
});
