import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IAMClient } from '@aws-sdk/client-iam';
import type { SftpStorageProfile, SftpUser } from '../../api/types.generated.ts';
import type { PlacedServer } from '../../controllers/context.ts';
import { locate } from '../../controllers/placement.ts';
import { profileFixture, serverFixture as sharedServerFixture } from '../../controllers/testing/fixtures.ts';
import { IamErrorCode } from './errors.ts';
import { awsServer, createIamIntegration, IamReason, policyServer } from './integration.ts';
import { buildSessionPolicy } from './session-policy.ts';

/** Server tenants/demo on a profile (region eu-west-1, mode STS unless patched): prefix sftpgate/tenants/demo. */
function serverFixture(patch: (p: SftpStorageProfile['spec']) => void = () => {}): PlacedServer {
  const profile = profileFixture((p) => {
    p.region = 'eu-west-1';
    p.iam = { mode: 'STS', sts: { endpoint: 'http://minio:9000', durationSeconds: 3600 } };
    patch(p);
  });
  return { server: sharedServerFixture(), placement: locate(profile, 'tenants', 'demo') };
}

function userFixture(patch: (s: SftpUser['spec']) => void = () => {}): SftpUser {
  const u: SftpUser = {
    apiVersion: 'sftpgate.io/v1alpha1',
    kind: 'SftpUser',
    metadata: { name: 'alice', namespace: 'tenants', uid: 'uid-u', generation: 1 },
    spec: {
      serverRef: { name: 'demo' },
      disabled: false,
      deletionPolicy: 'Retain',
      authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b'],
      permissions: ['list', 'download'],
      directoryPermissions: [{ path: '/in', permissions: ['list', 'upload'] }],
      logicalDirectories: [{ path: '/shared', prefix: 'shared' }],
    },
  };
  patch(u.spec);
  return u;
}

const account = { accountId: '123456789012', partition: 'aws', region: 'eu-west-1' };

test('sessionPolicy maps the SftpUser spec exactly as the users table carries it', () => {
  const iam = createIamIntegration();
  const r = iam.sessionPolicy(serverFixture(), userFixture());
  assert.ok(!('error' in r));
  const expected = buildSessionPolicy(
    {
      username: 'alice',
      home: 'alice',
      permissions: ['list', 'download'],
      directoryPermissions: [{ path: '/in', permissions: ['list', 'upload'] }],
      logicalDirectories: [{ path: '/shared', prefix: 'shared' }],
    },
    { bucket: 'bkt', prefix: 'sftpgate/tenants/demo' },
  );
  assert.equal(r.policy, expected.packed);
  assert.equal(r.digest, expected.digest);
});

test('spec.username and homeDirectory win over metadata.name', () => {
  const r = createIamIntegration().sessionPolicy(
    serverFixture(),
    userFixture((s) => {
      s.username = 'partner';
      s.homeDirectory = 'drop/partner';
    }),
  );
  assert.ok(!('error' in r) && r.policy?.includes('sftpgate/tenants/demo/drop/partner/*'));
});

test('a policy that cannot fit is reported with a stable reason, not thrown', () => {
  const r = createIamIntegration().sessionPolicy(
    serverFixture(),
    userFixture((s) => {
      s.logicalDirectories = Array.from({ length: 16 }, (_, i) => ({
        path: `/l${i}`,
        prefix: `shared/${'p'.repeat(100)}${i}`,
      }));
    }),
  );
  assert.ok('error' in r);
  assert.equal(r.error, IamErrorCode.PolicyTooLarge);
  assert.equal(r.reason, IamReason.SessionPolicyTooLarge);
  assert.match(r.message, /over the 2048-byte limit/);
});

test('STS mode: ready, with the endpoint in status; AWS mode without IAM access: not ready, said plainly', async () => {
  const iam = createIamIntegration();
  const sts = await iam.reconcileServer(serverFixture(), AbortSignal.timeout(5000));
  assert.deepEqual(sts.status, { mode: 'STS', stsEndpoint: 'http://minio:9000' });
  assert.equal(sts.ready, true);
  const aws = await iam.reconcileServer(
    serverFixture((p) => {
      delete p.endpoint;
      delete p.credentials;
      p.iam = {
        mode: 'AWS',
        aws: { irsa: { oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/x' }, path: '/sftpgate/' },
      };
    }),
    AbortSignal.timeout(5000),
  );
  assert.equal(aws.ready, false);
  assert.equal(aws.reason, IamReason.NotAvailable);
});

test('AWS mode maps the server: ServiceAccount, identity, KMS key id expanded to an ARN, alias refused', () => {
  const s = serverFixture((spec) => {
    delete spec.credentials;
    spec.iam = {
      mode: 'AWS',
      aws: {
        podIdentity: { clusterName: 'prod' },
        path: '/sftpgate/',
        permissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/b',
      },
    };
    spec.encryption = { type: 'aws:kms', kmsKeyId: '1234abcd-12ab' };
  });
  assert.deepEqual(awsServer(s, account), {
    namespace: 'tenants',
    name: 'demo',
    uid: 'uid-1',
    serviceAccount: 'demo-sftp',
    bucket: 'bkt',
    prefix: 'sftpgate/tenants/demo',
    identity: { kind: 'podIdentity', clusterName: 'prod' },
    kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab',
    permissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/b',
    path: '/sftpgate/',
  });
  assert.equal(policyServer(s, account).kmsKeyArn, 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab');
  const alias = serverFixture((spec) => {
    spec.iam = { mode: 'AWS', aws: { podIdentity: { clusterName: 'prod' }, path: '/sftpgate/' } };
    spec.encryption = { type: 'aws:kms', kmsKeyId: 'alias/sftp' };
  });
  // A client that is never called: sessionPolicy is pure.
  const client = new IAMClient({ region: 'us-east-1' });
  try {
    const r = createIamIntegration({ aws: { iam: client, account } }).sessionPolicy(alias, userFixture());
    assert.ok('error' in r && r.error === IamErrorCode.InvalidInput);
  } finally {
    client.destroy();
  }
});
