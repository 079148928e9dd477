// The API is enforced by the real kube-apiserver: the examples are accepted with their defaults filled in, and a
// table of invalid manifests is refused with a readable message naming the field, leaving nothing behind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SftpServer, SftpStorageProfile, SftpUser } from '../../operator/src/api/types.generated.ts';
import { type ApiError, isApiError } from '../../operator/src/runtime/errors.ts';
import { KubeClient, type KubeObject, Resources, type ResourceType } from '../../operator/src/runtime/kube-client.ts';
import { type ControlPlane, startControlPlane } from '../infra/index.ts';
import { installCrds } from './operator-harness.ts';

const ns = 'crd-validation';
const root = new URL('../../', import.meta.url);
let cp: ControlPlane;
let client: KubeClient;

const ed25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMFsNSUVhAOnjd6pf5oeU4H8HmwAXJWLv2ZIKovmWdZ4 alice@example';

function user(name: string, spec: Record<string, unknown>): KubeObject & { spec: Record<string, unknown> } {
  return { apiVersion: 'sftpgate.io/v1alpha1', kind: 'SftpUser', metadata: { name, namespace: ns }, spec };
}

function server(name: string, spec: Record<string, unknown>): KubeObject & { spec: Record<string, unknown> } {
  return { apiVersion: 'sftpgate.io/v1alpha1', kind: 'SftpServer', metadata: { name, namespace: ns }, spec };
}

function profile(name: string, spec: Record<string, unknown>): KubeObject & { spec: Record<string, unknown> } {
  return { apiVersion: 'sftpgate.io/v1alpha1', kind: 'SftpStorageProfile', metadata: { name }, spec };
}

const validUserSpec = { serverRef: { name: 'demo' }, authorizedKeys: [ed25519] };
const validStorage = { profile: 'demo' };
const validProfile = {
  bucket: 'sftpgate-test',
  endpoint: 'http://127.0.0.1:9000',
  forcePathStyle: true,
  namespaceSelector: {},
};
const typeOf = (kind: string | undefined): ResourceType =>
  kind === 'SftpUser'
    ? Resources.SftpUser
    : kind === 'SftpStorageProfile'
      ? Resources.SftpStorageProfile
      : Resources.SftpServer;

interface InvalidCase {
  name: string;
  object: KubeObject;
  /** Field path the API server names, and the message it must show. */
  field: string;
  message: RegExp;
}

const invalidCreates: InvalidCase[] = [
  {
    name: 'username with uppercase and punctuation',
    object: user('u-bad-charset', { ...validUserSpec, username: 'Alice!' }),
    field: 'spec.username',
    message: /spec\.username must start with a lowercase letter or digit and contain only a-z, 0-9/,
  },
  {
    name: 'username longer than 63',
    object: user('u-long', { ...validUserSpec, username: 'a'.repeat(64) }),
    field: 'spec.username',
    message: /may not be more than 63 bytes/,
  },
  {
    name: 'metadata.name not usable as a username and no spec.username',
    object: user(`u${'x'.repeat(70)}`, validUserSpec),
    field: 'spec.username',
    message: /metadata\.name is not a valid username .*set spec\.username/,
  },
  {
    name: "'..' in homeDirectory",
    object: user('u-dotdot', { ...validUserSpec, homeDirectory: 'alice/../bob' }),
    field: 'spec.homeDirectory',
    message: /spec\.homeDirectory must not contain '\.\.'/,
  },
  {
    name: 'leading / in homeDirectory',
    object: user('u-abs-home', { ...validUserSpec, homeDirectory: '/alice' }),
    field: 'spec.homeDirectory',
    message: /relative to the server prefix: remove the leading '\/'/,
  },
  {
    name: 'IAM wildcard in homeDirectory',
    object: user('u-wild-home', { ...validUserSpec, homeDirectory: 'alice*' }),
    field: 'spec.homeDirectory',
    message: /may contain only letters, digits/,
  },
  {
    name: 'authorized key that is not an OpenSSH key line',
    object: user('u-bad-key', { ...validUserSpec, authorizedKeys: ['from="10.0.0.1" ssh-ed25519 AAAA'] }),
    field: 'spec.authorizedKeys[0]',
    message: /must be one OpenSSH public key line/,
  },
  {
    // The pod cannot verify FIDO (sk-*) signatures: such a user is refused here, never shown Ready and unable to log in.
    name: 'FIDO security-key (sk-ssh-ed25519) authorized key',
    object: user('u-sk-key', {
      ...validUserSpec,
      authorizedKeys: [
        ed25519,
        'sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHAAAABHNzaDo= me@yubikey',
      ],
    }),
    field: 'spec.authorizedKeys[1]',
    message: /FIDO security-key keys .* are not supported: the SFTP server cannot verify their signatures/,
  },
  {
    name: 'FIDO security-key (sk-ecdsa) authorized key',
    object: user('u-sk-ecdsa', { ...validUserSpec, authorizedKeys: ['sk-ecdsa-sha2-nistp256@openssh.com AAAA x'] }),
    field: 'spec.authorizedKeys[0]',
    message: /FIDO security-key keys/,
  },
  {
    name: 'more than 32 authorized keys',
    object: user('u-many-keys', {
      ...validUserSpec,
      authorizedKeys: Array.from({ length: 33 }, (_, i) => `${ed25519.slice(0, -13)} key${i}`),
    }),
    field: 'spec.authorizedKeys',
    message: /Too many: 33: must have at most 32 items/,
  },
  {
    name: 'neither authorizedKeys nor passwordSecretRef',
    object: user('u-no-credentials', { serverRef: { name: 'demo' } }),
    field: 'spec',
    message: /set authorizedKeys or passwordSecretRef \(or both\)/,
  },
  {
    name: 'unknown permission',
    object: user('u-bad-perm', { ...validUserSpec, permissions: ['list', 'execute'] }),
    field: 'spec.permissions[1]',
    message: /Unsupported value: "execute"/,
  },
  {
    name: 'source range that is not a CIDR',
    object: user('u-bad-cidr', { ...validUserSpec, allowedSourceCIDRs: ['10.0.0.0/33'] }),
    field: 'spec.allowedSourceCIDRs[0]',
    message: /must be a CIDR such as 10\.0\.0\.0\/8/,
  },
  {
    name: 'relative directoryPermissions path',
    object: user('u-rel-dirperm', {
      ...validUserSpec,
      directoryPermissions: [{ path: 'outbox', permissions: ['list'] }],
    }),
    field: 'spec.directoryPermissions[0].path',
    message: /must be an absolute path in the user's tree/,
  },
  {
    name: "logical directory prefix escaping with '..'",
    object: user('u-logical-escape', {
      ...validUserSpec,
      logicalDirectories: [{ path: '/shared', prefix: '../other-server' }],
    }),
    field: 'spec.logicalDirectories[0].prefix',
    message: /prefix must not contain '\.\.'/,
  },
  {
    name: 'home under the reserved root .sftpgate',
    object: user('u-reserved-home', { ...validUserSpec, homeDirectory: '.sftpgate/usage/alice' }),
    field: 'spec.homeDirectory',
    message: /must not start with \.sftpgate/,
  },
  {
    name: 'logical directory prefix at the reserved root .sftpgate',
    object: user('u-reserved-logical', {
      ...validUserSpec,
      logicalDirectories: [{ path: '/state', prefix: '.sftpgate' }],
    }),
    field: 'spec.logicalDirectories[0].prefix',
    message: /must not start with \.sftpgate/,
  },
  {
    name: 'quota that is not a quantity',
    object: user('u-bad-quota', { ...validUserSpec, quota: { maxBytes: 'lots' } }),
    field: 'spec.quota.maxBytes',
    message: /quota\.maxBytes must be a non-negative byte count or quantity/,
  },
  {
    name: 'missing serverRef',
    object: user('u-no-server', { authorizedKeys: [ed25519] }),
    field: 'spec.serverRef',
    message: /Required value/,
  },
  {
    name: 'part size below the S3 minimum (quantity)',
    object: server('s-small-part', { storage: validStorage, transfer: { partSize: '4Mi' } }),
    field: 'spec.transfer.partSize',
    message: /between 5Mi \(the S3 minimum part size\) and 5Gi/,
  },
  {
    name: 'part size below the S3 minimum (integer)',
    object: server('s-small-part-int', { storage: validStorage, transfer: { partSize: 1_000_000 } }),
    field: 'spec.transfer.partSize',
    message: /between 5Mi/,
  },
  {
    name: 'memory budget smaller than the parts in flight',
    object: server('s-small-budget', {
      storage: validStorage,
      transfer: { partSize: '64Mi', uploadConcurrency: 8, memoryBudget: '256Mi' },
    }),
    field: 'spec.transfer.memoryBudget',
    message: /must hold at least partSize x uploadConcurrency bytes/,
  },
  {
    name: 'iam mode STS without iam.sts',
    object: profile('p-sts-missing', { ...validProfile, iam: { mode: 'STS' } }),
    field: 'spec.iam',
    message: /iam\.mode STS requires iam\.sts/,
  },
  {
    name: 'iam mode None with iam.sts',
    object: profile('p-none-with-sts', {
      ...validProfile,
      iam: { mode: 'None', sts: { endpoint: 'http://127.0.0.1:9000' } },
    }),
    field: 'spec.iam.sts',
    message: /iam\.sts is only valid with iam\.mode STS/,
  },
  {
    name: 'iam mode AWS with both irsa and podIdentity',
    object: profile('p-aws-both', {
      bucket: 'b-aws',
      namespaceSelector: {},
      iam: {
        mode: 'AWS',
        aws: {
          irsa: { oidcProviderArn: 'arn:aws:iam::111122223333:oidc-provider/oidc.example' },
          podIdentity: { clusterName: 'c' },
        },
      },
    }),
    field: 'spec.iam.aws',
    message: /exactly one of irsa and podIdentity/,
  },
  {
    name: 'iam mode AWS with static credentials',
    object: profile('p-aws-static', {
      bucket: 'b-aws',
      namespaceSelector: {},
      credentials: { secretRef: { name: 'creds' } },
      iam: { mode: 'AWS', aws: { podIdentity: { clusterName: 'c' } } },
    }),
    field: 'spec.credentials',
    message: /workload identity: remove credentials/,
  },
  {
    name: 'profile without a namespaceSelector',
    object: profile('p-no-selector', { bucket: 'b' }),
    field: 'spec.namespaceSelector',
    message: /Required value/,
  },
  {
    name: 'archive storage class',
    object: server('s-glacier', { storage: { ...validStorage, storageClass: 'GLACIER' } }),
    field: 'spec.storage.storageClass',
    message: /Unsupported value: "GLACIER"/,
  },
  {
    name: 'PROXY protocol source that is not a CIDR',
    object: server('s-bad-proxy', { storage: validStorage, security: { proxyProtocolCIDRs: ['lb.example.com'] } }),
    field: 'spec.security.proxyProtocolCIDRs[0]',
    message: /must be a CIDR such as 10\.0\.0\.0\/8/,
  },
  {
    name: 'server without a profile',
    object: server('s-no-profile', { storage: {} }),
    field: 'spec.storage.profile',
    message: /Required value/,
  },
  {
    name: 'bucket name S3 would refuse',
    object: profile('p-bad-bucket', { ...validProfile, bucket: 'Bad_Bucket' }),
    field: 'spec.bucket',
    message: /should match/,
  },
  {
    name: 'endpoint that is not http(s)',
    object: profile('p-ftp-endpoint', { ...validProfile, endpoint: 'ftp://minio:9000' }),
    field: 'spec.endpoint',
    message: /endpoint must be an http\(s\) URL/,
  },
  {
    name: 'profile root with a leading /',
    object: profile('p-abs-root', { ...validProfile, root: '/tenants' }),
    field: 'spec.root',
    message: /root must not start or end with '\/'/,
  },
  {
    name: "profile root with '..'",
    object: profile('p-dotdot-root', { ...validProfile, root: 'a/../b' }),
    field: 'spec.root',
    message: /root must not contain empty, '\.' or '\.\.' segments/,
  },
  {
    name: 'KMS key with AES256',
    object: profile('p-kms-aes', { ...validProfile, encryption: { type: 'AES256', kmsKeyId: 'k' } }),
    field: 'spec.encryption.kmsKeyId',
    message: /kmsKeyId is only valid with type aws:kms/,
  },
  {
    name: 'lifecycle defaults above the profile maxima',
    object: profile('p-lifecycle', { ...validProfile, lifecycle: { abortIncompleteMultipartUploadDays: 9 } }),
    field: 'spec.lifecycle',
    message: /within the profile's own maxima/,
  },
  {
    name: 'idle timeout that is not a duration',
    object: server('s-bad-timeout', { storage: validStorage, sftp: { idleTimeout: 'forever' } }),
    field: 'spec.sftp.idleTimeout',
    message: /should match/,
  },
  {
    name: 'unknown setstat mode',
    object: server('s-bad-setstat', { storage: validStorage, sftp: { setstatMode: 'Emulate' } }),
    field: 'spec.sftp.setstatMode',
    message: /Unsupported value: "Emulate"/,
  },
  {
    name: 'webhook URL that is not http(s)',
    object: server('s-hook-scheme', {
      storage: validStorage,
      notifications: { webhook: { url: 'file:///etc/passwd', secretRef: { name: 'k' } } },
    }),
    field: 'spec.notifications.webhook.url',
    message: /webhook\.url must be an http\(s\) URL with a host/,
  },
  {
    name: 'webhook URL with credentials',
    object: server('s-hook-creds', {
      storage: validStorage,
      notifications: { webhook: { url: 'https://u:p@hooks.example.com/x', secretRef: { name: 'k' } } },
    }),
    field: 'spec.notifications.webhook.url',
    message: /must not carry credentials or a fragment/,
  },
  {
    name: 'webhook event that is not an audit action',
    object: server('s-hook-event', {
      storage: validStorage,
      notifications: { webhook: { url: 'https://h.example.com/', secretRef: { name: 'k' }, events: ['exec'] } },
    }),
    field: 'spec.notifications.webhook.events[0]',
    message: /Unsupported value: "exec"/,
  },
  {
    name: 'plain http destination without allowInsecureHTTP',
    object: profile('p-hook-http', {
      ...validProfile,
      notifications: { allowedDestinations: [{ urlPrefix: 'http://hooks.example.com/' }] },
    }),
    field: 'spec.notifications.allowedDestinations[0].urlPrefix',
    message: /plain http urlPrefix needs allowInsecureHTTP: true/,
  },
  {
    name: 'destination prefix with a query',
    object: profile('p-hook-query', {
      ...validProfile,
      notifications: { allowedDestinations: [{ urlPrefix: 'https://hooks.example.com/?token=x' }] },
    }),
    field: 'spec.notifications.allowedDestinations[0].urlPrefix',
    message: /must not carry credentials, a query or a fragment/,
  },
];

async function createExpectingRefusal(c: InvalidCase): Promise<ApiError> {
  const type = typeOf(c.object.kind);
  try {
    await client.create(type, type === Resources.SftpStorageProfile ? undefined : ns, c.object);
  } catch (err) {
    assert.ok(isApiError(err, 422), `expected 422 Invalid, got ${String(err)}`);
    return err as ApiError;
  }
  assert.fail(`${c.name}: the API server accepted it`);
}

describe('CRD validation against kube-apiserver', { timeout: 240_000 }, () => {
  before(async () => {
    cp = await startControlPlane();
    client = new KubeClient(cp.kubeConfig());
    await installCrds(cp);
    await client.create(Resources.Namespace, undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    });
  });

  after(async () => {
    client?.close();
    await cp?.stop();
  });

  it('accepts the examples and fills in the defaults', async () => {
    await client.create(Resources.Namespace, undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'sftpgate-system' },
    });
    // The platform's objects: cluster-scoped profiles, credentials in the operator's namespace.
    for (const file of ['s3-credentials.yaml', 'sftpstorageprofile.yaml', 'sftpstorageprofile-aws.yaml']) {
      await cp.kubectl(['apply', '-f', new URL(`examples/${file}`, root).pathname]);
    }
    for (const file of ['sftpserver.yaml', 'sftpserver-aws.yaml', 'sftpuser.yaml', 'sftpuser-full.yaml']) {
      await cp.kubectl(['apply', '-n', ns, '-f', new URL(`examples/${file}`, root).pathname]);
    }
    const demo = await client.get<SftpServer & KubeObject>(Resources.SftpServer, ns, 'demo');
    assert.deepEqual(demo.spec.storage, { profile: 'demo' }, 'a tenant names a profile, nothing else');
    const demoProfile = await client.get<SftpStorageProfile & KubeObject>(
      Resources.SftpStorageProfile,
      undefined,
      'demo',
    );
    assert.deepEqual(demoProfile.spec.iam, { mode: 'None' });
    assert.deepEqual(demo.spec.transfer, {
      partSize: '8Mi',
      uploadConcurrency: 4,
      downloadConcurrency: 4,
      memoryBudget: '256Mi',
    });
    assert.deepEqual(demoProfile.spec.lifecycle, {
      abortIncompleteMultipartUploadDays: 1,
      maxAbortIncompleteMultipartUploadDays: 7,
      noncurrentVersionExpirationDays: 30,
      maxNoncurrentVersionExpirationDays: 365,
      expiredObjectDeleteMarker: true,
    });
    assert.equal(demoProfile.spec.region, 'us-east-1');
    assert.equal(demoProfile.spec.credentials?.secretRef.accessKeyIdKey, 'AWS_ACCESS_KEY_ID');
    assert.equal(demo.spec.sftp.setstatMode, 'Error');
    assert.equal(demo.spec.sftp.idleTimeout, '15m');
    assert.equal(demo.spec.security.defender.enabled, true);
    assert.deepEqual(demo.spec.hostKeys.types, ['ed25519', 'rsa']);
    assert.deepEqual(demo.spec.service, { type: 'ClusterIP', port: 22 });
    assert.equal(demo.spec.deletionPolicy, 'Retain');
    assert.equal(demo.spec.replicas, 1);

    const aws = await client.get<SftpServer & KubeObject>(Resources.SftpServer, ns, 'partners');
    assert.equal(aws.spec.storage.profile, 'aws-partners');
    const awsProfile = await client.get<SftpStorageProfile & KubeObject>(
      Resources.SftpStorageProfile,
      undefined,
      'aws-partners',
    );
    assert.equal(awsProfile.spec.iam.aws?.path, '/sftpgate/');
    assert.equal(aws.spec.transfer.partSize, '16Mi');

    const alice = await client.get<SftpUser & KubeObject>(Resources.SftpUser, ns, 'alice');
    assert.deepEqual(alice.spec.permissions, [
      'list',
      'download',
      'upload',
      'overwrite',
      'delete',
      'rename',
      'mkdir',
      'setstat',
    ]);
    assert.equal(alice.spec.disabled, false);
    assert.equal(alice.spec.deletionPolicy, 'Retain');
    assert.equal(alice.spec.username, undefined, 'username stays unset: the operator resolves it from metadata.name');

    const acme = await client.get<SftpUser & KubeObject>(Resources.SftpUser, ns, 'partner-acme');
    assert.equal(acme.spec.passwordSecretRef?.key, 'password');
    assert.equal(acme.spec.quota?.maxBytes, '10Gi');
  });

  it('prints the documented columns, short names and category', async () => {
    const users = await cp.kubectl(['get', 'sftpu', '-n', ns]);
    assert.match(users.stdout, /^NAME\s+SERVER\s+PREFIX\s+READY\s+USED\s+AGE/m);
    const servers = await cp.kubectl(['get', 'sftps', '-n', ns]);
    assert.match(servers.stdout, /^NAME\s+PROFILE\s+ENDPOINT\s+USERS\s+READY\s+AGE/m);
    assert.match(servers.stdout, /^demo\s+demo\s/m);
    const profiles = await cp.kubectl(['get', 'sftpsp']);
    assert.match(profiles.stdout, /^NAME\s+BUCKET\s+ROOT\s+IAM\s+SERVERS\s+READY\s+AGE/m);
    assert.match(profiles.stdout, /^demo\s+sftpgate-demo\s+servers\s+None\s/m);
    const all = await cp.kubectl(['get', 'sftpgate', '-n', ns, '-o', 'name']);
    assert.match(all.stdout, /sftpserver\.sftpgate\.io\/demo/);
    assert.match(all.stdout, /sftpuser\.sftpgate\.io\/alice/);
  });

  for (const c of invalidCreates) {
    it(`refuses ${c.name}`, async () => {
      const err = await createExpectingRefusal(c);
      assert.ok(err.message.includes(c.field), `message should name ${c.field}: ${err.message}`);
      assert.match(err.message, c.message);
      const type = typeOf(c.object.kind);
      const left = await client.getOptional(
        type,
        type === Resources.SftpStorageProfile ? undefined : ns,
        c.object.metadata?.name ?? '',
      );
      assert.equal(left, undefined, 'a refused object must not exist');
    });
  }

  it(`has a table of at least 15 invalid manifests (${invalidCreates.length})`, () => {
    assert.ok(invalidCreates.length >= 15);
  });

  describe('immutable fields', () => {
    const updates: {
      name: string;
      type: ResourceType;
      object: string;
      patch: unknown;
      field: string;
      message: RegExp;
    }[] = [
      {
        name: 'storage.profile',
        type: Resources.SftpServer,
        object: 'demo',
        patch: { spec: { storage: { profile: 'aws-partners' } } },
        field: 'spec.storage.profile',
        message: /storage\.profile is immutable/,
      },
      {
        name: "a profile's bucket",
        type: Resources.SftpStorageProfile,
        object: 'demo',
        patch: { spec: { bucket: 'another-bucket' } },
        field: 'spec.bucket',
        message: /bucket is immutable/,
      },
      {
        name: "a profile's root",
        type: Resources.SftpStorageProfile,
        object: 'demo',
        patch: { spec: { root: 'moved' } },
        field: 'spec.root',
        message: /root is immutable/,
      },
      {
        name: "a profile's endpoint",
        type: Resources.SftpStorageProfile,
        object: 'demo',
        patch: { spec: { endpoint: 'http://elsewhere:9000' } },
        field: 'spec.endpoint',
        message: /endpoint is immutable/,
      },
      {
        name: 'serverRef',
        type: Resources.SftpUser,
        object: 'alice',
        patch: { spec: { serverRef: { name: 'partners' } } },
        field: 'spec.serverRef',
        message: /spec\.serverRef is immutable/,
      },
      {
        name: 'username (set after creation)',
        type: Resources.SftpUser,
        object: 'alice',
        patch: { spec: { username: 'alice2' } },
        field: 'spec.username',
        message: /spec\.username is immutable/,
      },
      {
        name: 'username (changed)',
        type: Resources.SftpUser,
        object: 'partner-acme',
        patch: { spec: { username: 'acme2' } },
        field: 'spec.username',
        message: /spec\.username is immutable/,
      },
    ];
    for (const u of updates) {
      it(`refuses changing ${u.name}`, async () => {
        const where = u.type === Resources.SftpStorageProfile ? undefined : ns;
        const before = await client.get(u.type, where, u.object);
        await assert.rejects(client.mergePatch(u.type, where, u.object, u.patch), (err: unknown) => {
          assert.ok(isApiError(err, 422), String(err));
          assert.ok(err.message.includes(u.field), err.message);
          assert.match(err.message, u.message);
          return true;
        });
        const afterwards = await client.get(u.type, where, u.object);
        assert.equal(afterwards.metadata?.resourceVersion, before.metadata?.resourceVersion, 'nothing was written');
      });
    }

    it('still allows changing mutable fields', async () => {
      const updated = await client.mergePatch<SftpUser & KubeObject>(Resources.SftpUser, ns, 'alice', {
        spec: { homeDirectory: 'home/alice', disabled: true },
      });
      assert.equal(updated.spec.homeDirectory, 'home/alice');
      const server = await client.mergePatch<SftpServer & KubeObject>(Resources.SftpServer, ns, 'demo', {
        spec: { replicas: 3, transfer: { partSize: 16 * 1024 * 1024 } },
      });
      assert.equal(server.spec.replicas, 3);
      assert.equal(server.spec.transfer.partSize, 16 * 1024 * 1024);
    });
  });

  it('lets only the status subresource write status, and validates it', async () => {
    const ignored = await client.mergePatch<SftpUser & KubeObject>(Resources.SftpUser, ns, 'alice', {
      status: { prefix: 's3://x/' },
    });
    assert.equal(ignored.status, undefined, 'status in a main-resource patch is dropped');
    await assert.rejects(
      client.mergePatch(
        Resources.SftpUser,
        ns,
        'alice',
        {
          status: {
            conditions: [
              { type: 'Ready', status: 'Maybe', reason: 'X', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
            ],
          },
        },
        { subresource: 'status' },
      ),
      /Unsupported value: "Maybe"/,
    );
  });
});
