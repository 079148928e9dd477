// Smoke tests of moto's IAM API: the calls the IAM policy manager makes, round-tripped through the real server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateRoleCommand,
  DeleteRolePolicyCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { type Moto, startMoto } from '../infra/index.ts';

let moto: Moto;
let iam: IAMClient;

before(async () => {
  moto = await startMoto();
  iam = moto.iam();
});
after(() => moto?.stop());

const TRUST = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] },
  ],
};
const POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: ['arn:aws:s3:::bucket/tenants/alice/*'] },
  ],
};

describe('moto IAM smoke', () => {
  it('round-trips CreateRole / PutRolePolicy / GetRolePolicy', async () => {
    const created = await iam.send(
      new CreateRoleCommand({
        RoleName: 'sftpgate-smoke',
        Path: '/sftpgate/',
        AssumeRolePolicyDocument: JSON.stringify(TRUST),
        Tags: [{ Key: 'sftpgate.io/server', Value: 'default/main' }],
      }),
    );
    assert.equal(created.Role?.Arn, `arn:aws:iam::${moto.accountId}:role/sftpgate/sftpgate-smoke`);
    const role = await iam.send(new GetRoleCommand({ RoleName: 'sftpgate-smoke' }));
    // IAM returns policy documents URL-encoded.
    assert.deepEqual(JSON.parse(decodeURIComponent(role.Role?.AssumeRolePolicyDocument ?? '')), TRUST);

    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'sftpgate-smoke',
        PolicyName: 'tenant-access',
        PolicyDocument: JSON.stringify(POLICY),
      }),
    );
    const got = await iam.send(new GetRolePolicyCommand({ RoleName: 'sftpgate-smoke', PolicyName: 'tenant-access' }));
    assert.equal(got.RoleName, 'sftpgate-smoke');
    assert.equal(got.PolicyName, 'tenant-access');
    assert.deepEqual(JSON.parse(decodeURIComponent(got.PolicyDocument ?? '')), POLICY);
    const listed = await iam.send(new ListRolePoliciesCommand({ RoleName: 'sftpgate-smoke' }));
    assert.deepEqual(listed.PolicyNames, ['tenant-access']);

    await iam.send(new DeleteRolePolicyCommand({ RoleName: 'sftpgate-smoke', PolicyName: 'tenant-access' }));
    await assert.rejects(
      iam.send(new GetRolePolicyCommand({ RoleName: 'sftpgate-smoke', PolicyName: 'tenant-access' })),
      (err) => err instanceof NoSuchEntityException,
    );
  });

  it('refuses a duplicate role and a policy for a missing role', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'dup', AssumeRolePolicyDocument: JSON.stringify(TRUST) }));
    await assert.rejects(
      iam.send(new CreateRoleCommand({ RoleName: 'dup', AssumeRolePolicyDocument: JSON.stringify(TRUST) })),
      (err) => err instanceof EntityAlreadyExistsException,
    );
    await assert.rejects(
      iam.send(
        new PutRolePolicyCommand({ RoleName: 'missing', PolicyName: 'p', PolicyDocument: JSON.stringify(POLICY) }),
      ),
      (err) => err instanceof NoSuchEntityException,
    );
  });

  it('serves STS on the same endpoint', async () => {
    const id = await moto.sts().send(new GetCallerIdentityCommand({}));
    assert.equal(id.Account, moto.accountId);
  });
});
