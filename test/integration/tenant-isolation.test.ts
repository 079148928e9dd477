// Tenants are untrusted (docs/security.md, threat model): each attack a tenant in namespace B could try against
// tenant A is a named test here, against the real API server, MinIO and the operator wired as main.ts wires it.
// Platform objects (profiles, the credentials Secret) are written by the test as the platform team.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetBucketLifecycleConfigurationCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { V1Deployment } from '@kubernetes/client-node';
import { Reason } from '../../operator/src/api/conditions.ts';
import type { SftpServer } from '../../operator/src/api/types.generated.ts';
import { lifecycleRuleId } from '../../operator/src/controllers/placement.ts';
import { Resources } from '../../operator/src/runtime/kube-client.ts';
import { generateHostKey } from '../../operator/src/secrets/host-keys.ts';
import {
  applyProfile,
  condition,
  createNamespace,
  getServer,
  type Manifest,
  OPERATOR_NS,
  type RunningOperator,
  serverManifest,
  startOperator,
  startTestBed,
  type TestBed,
  userManifest,
  usersTable,
  waitFor,
  waitQuiet,
} from './operator-harness.ts';

const A = 'tenant-a';
const B = 'tenant-b';
let bed: TestBed;
let op: RunningOperator;
/** A listener tenant B plants: it must never receive a request. */
let planted: Server;
let plantedUrl: string;
const received: string[] = [];

const key = generateHostKey('ed25519').publicKey;
const reasonOf = async (ns: string, name: string, type = 'StorageReady') =>
  condition(await getServer(bed, ns, name), type)?.reason;

async function keys(prefix: string): Promise<string[]> {
  const out = await bed.minio.s3().send(new ListObjectsV2Command({ Bucket: 'sftp', Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '');
}

async function ourRules(): Promise<{ id: string; prefix: string }[]> {
  const out = await bed.minio.s3().send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'sftp' }));
  return (out.Rules ?? []).map((r) => ({ id: r.ID ?? '', prefix: r.Filter?.Prefix ?? r.Prefix ?? '' }));
}

before(async () => {
  planted = createServer((req, res) => {
    received.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.writeHead(200).end('<ok/>');
  });
  await new Promise<void>((resolve) => planted.listen(0, '127.0.0.1', resolve));
  plantedUrl = `http://127.0.0.1:${(planted.address() as AddressInfo).port}`;
  bed = await startTestBed();
  await bed.minio.createBucket('sftp', { versioning: true });
  await createNamespace(bed, A);
  await createNamespace(bed, B);
  // The platform: `shared` selects both tenants by the name the API server sets; `only-a` selects A alone.
  const both = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [A, B] }] };
  await applyProfile(bed, 'shared', { root: 'tenants', namespaceSelector: both, storageClasses: ['STANDARD'] });
  await applyProfile(bed, 'only-a', {
    root: 'only-a',
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': A } },
  });
  await applyProfile(bed, 'capped', {
    root: 'capped',
    namespaceSelector: both,
    limits: { maxServersPerNamespace: 1, maxUsersPerNamespace: 1 },
  });
  op = startOperator(bed);
  // Tenant A: a server with data and its lifecycle rule.
  await bed.admin.apply(Resources.SftpServer, serverManifest(bed, A, 'data', { storage: { profile: 'shared' } }));
  await waitFor('A ready', async () => (await reasonOf(A, 'data')) === Reason.LifecycleRulesApplied);
  for (const f of ['a1', 'a2', 'a3']) {
    await bed.minio.s3().send(new PutObjectCommand({ Bucket: 'sftp', Key: `tenants/${A}/data/alice/${f}`, Body: f }));
  }
});

after(async () => {
  await op?.stop();
  await bed?.stop();
  await new Promise((resolve) => planted?.close(resolve));
});

describe('tenant isolation', { timeout: 300_000 }, () => {
  it('tenant B cannot use a profile that does not select B', async () => {
    await bed.admin.apply(
      Resources.SftpServer,
      serverManifest(bed, B, 'sneaky', { storage: { profile: 'only-a' }, deletionPolicy: 'Delete' }),
    );
    await waitFor('NamespaceNotAllowed', async () => (await reasonOf(B, 'sneaky')) === Reason.NamespaceNotAllowed);
    const s = await getServer(bed, B, 'sneaky');
    assert.equal(condition(s, 'Ready')?.status, 'False');
    assert.equal(s?.status?.location, undefined);
    assert.equal(s?.metadata.finalizers, undefined, 'no finalizer: deleting it touches no storage');
    assert.equal(await bed.admin.getOptional(Resources.Deployment, B, 'sneaky-sftp'), undefined);
    assert.equal(await bed.admin.getOptional(Resources.Secret, B, 'sneaky-s3-credentials'), undefined);
    assert.deepEqual(await keys('only-a/'), [], 'nothing written under the profile');
    // Labelling its own namespace does not help: the profile selects on the name the API server sets.
    await bed.admin.mergePatch(Resources.Namespace, undefined, B, { metadata: { labels: { tenant: A } } });
    await waitQuiet(op);
    assert.equal(await reasonOf(B, 'sneaky'), Reason.NamespaceNotAllowed);
    await bed.admin.delete(Resources.SftpServer, B, 'sneaky');
  });

  it('tenant B cannot choose KMS/OIDC/account/boundary or any endpoint: the fields do not exist', async () => {
    const hostile = {
      storage: {
        profile: 'shared',
        bucket: 'sftp',
        prefix: `tenants/${A}/data`,
        endpoint: plantedUrl,
        region: 'eu-west-1',
        credentialsSecretRef: { name: 'planted-creds' },
        encryption: { type: 'aws:kms', kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/x' },
      },
      iam: {
        mode: 'AWS',
        sts: { endpoint: plantedUrl, roleArn: 'arn:aws:iam::111122223333:role/x' },
        aws: {
          irsa: { oidcProviderArn: 'arn:aws:iam::111122223333:oidc-provider/evil' },
          podIdentity: { clusterName: 'other', accountId: '111122223333' },
          permissionsBoundaryArn: 'arn:aws:iam::111122223333:policy/none',
        },
      },
    };
    // kubectl (strict field validation) refuses the object outright.
    const file = join(bed.tmp, 'hostile.json');
    writeFileSync(file, JSON.stringify(serverManifest(bed, B, 'hostile', hostile)));
    const strict = await bed.cp.kubectl(['apply', '-f', file]).then(
      () => 'accepted',
      (err: Error) => err.message,
    );
    assert.match(strict, /unknown field "spec\.iam"|unknown field "spec\.storage\.(bucket|endpoint|prefix)"/);
    assert.equal(await getServer(bed, B, 'hostile'), undefined, 'refused: nothing stored');
    // A client without strict validation: the API server prunes every such field before storing.
    await bed.admin.create(Resources.SftpServer, B, serverManifest(bed, B, 'hostile', hostile));
    const stored = await getServer(bed, B, 'hostile');
    assert.deepEqual(stored?.spec.storage, { profile: 'shared' });
    assert.equal(Object.hasOwn(stored?.spec ?? {}, 'iam'), false);
    // ... and nothing used them: B's server lives at B's derived prefix, its pods get the profile's settings.
    await waitFor('hostile placed', async () => (await reasonOf(B, 'hostile')) === Reason.LifecycleRulesApplied);
    assert.equal((await getServer(bed, B, 'hostile'))?.status?.location, `s3://sftp/tenants/${B}/hostile/`);
    const d = (await waitFor('Deployment', () =>
      bed.admin.getOptional(Resources.Deployment, B, 'hostile-sftp'),
    )) as V1Deployment;
    const env = Object.fromEntries(
      (d.spec?.template.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? '']),
    );
    assert.equal(env['SFTPGATE_S3_PREFIX'], `tenants/${B}/hostile`);
    assert.equal(env['SFTPGATE_S3_ENDPOINT'], bed.minio.endpoint);
    assert.equal(env['SFTPGATE_S3_SSE_KMS_KEY_ID'], undefined);
    assert.equal(env['SFTPGATE_IAM_MODE'], 'None');
    assert.equal((await getServer(bed, B, 'hostile'))?.status?.iam, undefined, 'no IAM object made for B');
  });

  it('the operator sends nothing to a tenant-planted listener (no spec field the operator contacts can name one)', async () => {
    // B plants credentials and a password Secret, and points every field it can think of at its listener.
    await bed.admin.apply(Resources.Secret, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'planted-creds', namespace: B },
      stringData: {
        AWS_ACCESS_KEY_ID: 'PLANTEDKEYID',
        AWS_SECRET_ACCESS_KEY: 'planted-secret',
        password: 'pw-123456789',
      },
    } as Manifest);
    await bed.admin.apply(
      Resources.SftpUser,
      userManifest(B, 'mallory', {
        serverRef: { name: 'hostile' },
        authorizedKeys: [key],
        passwordSecretRef: { name: 'planted-creds', key: 'password' },
        logicalDirectories: [{ path: '/a', prefix: 'x' }],
      }),
    );
    await waitFor('mallory published', async () => {
      const u = await bed.admin.getOptional(Resources.SftpUser, B, 'mallory');
      return condition(u as never, 'Published')?.status === 'True';
    });
    await waitQuiet(op);
    assert.deepEqual(received, [], 'the planted listener received nothing');
    // Statically: no field of SftpServer or SftpUser names an endpoint, bucket, key, identity or other Secret.
    const { loadCrds } = await import('../../operator/src/api/crds.ts');
    const fields: string[] = [];
    const walk = (node: { properties?: Record<string, unknown>; items?: unknown }, path: string): void => {
      for (const [k, v] of Object.entries(node.properties ?? {})) {
        fields.push(`${path}.${k}`);
        walk(v as never, `${path}.${k}`);
      }
      if (node.items) walk(node.items as never, `${path}[]`);
    };
    for (const crd of loadCrds().filter((c) => c.spec.names.kind !== 'SftpStorageProfile')) {
      const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties?.['spec'];
      if (spec) walk(spec as never, crd.spec.names.kind);
    }
    const reaching = fields.filter((f) =>
      /endpoint|bucket|region|url|kms|oidc|arn|account|boundary|credential|role|iam\b/i.test(f.split('.').at(-1) ?? ''),
    );
    // The one URL a tenant writes is its webhook: only the pods send to it, and only where the profile allows
    // ("a webhook to the metadata service or another namespace's Service is refused" below).
    assert.deepEqual(reaching, ['SftpServer.notifications.webhook.url']);
    const secretRefs = fields.filter((f) => /secret/i.test(f.split('.').at(-1) ?? ''));
    assert.deepEqual(secretRefs.sort(), [
      'SftpServer.hostKeys.secretName',
      'SftpServer.notifications.webhook.secretRef',
      'SftpUser.passwordSecretRef',
    ]);
  });

  it("tenant B's Delete purges only B's prefix; A's objects and lifecycle rule stay", async () => {
    // Same server name as A's, same profile: the derived prefixes still differ by namespace.
    await bed.admin.apply(
      Resources.SftpServer,
      serverManifest(bed, B, 'data', { storage: { profile: 'shared' }, deletionPolicy: 'Delete' }),
    );
    await waitFor('B ready', async () => (await reasonOf(B, 'data')) === Reason.LifecycleRulesApplied);
    await bed.minio.s3().send(new PutObjectCommand({ Bucket: 'sftp', Key: `tenants/${B}/data/b1`, Body: 'b' }));
    const aRule = { id: lifecycleRuleId('shared', A, 'data'), prefix: `tenants/${A}/data/` };
    const bRule = { id: lifecycleRuleId('shared', B, 'data'), prefix: `tenants/${B}/data/` };
    const rules = await ourRules();
    assert.ok(
      rules.some((r) => r.id === aRule.id && r.prefix === aRule.prefix),
      JSON.stringify(rules),
    );
    assert.ok(
      rules.some((r) => r.id === bRule.id && r.prefix === bRule.prefix),
      JSON.stringify(rules),
    );
    await bed.admin.delete(Resources.SftpServer, B, 'data');
    await waitFor('B gone', async () => (await getServer(bed, B, 'data')) === undefined);
    assert.deepEqual(await keys(`tenants/${B}/data/`), [], "B's prefix purged");
    assert.deepEqual(
      (await keys(`tenants/${A}/data/`)).sort(),
      ['a1', 'a2', 'a3']
        .map((f) => `tenants/${A}/data/alice/${f}`)
        .concat([`tenants/${A}/data/`])
        .sort(),
      "A's objects intact",
    );
    const left = await ourRules();
    assert.ok(
      left.some((r) => r.id === aRule.id && r.prefix === aRule.prefix),
      "A's lifecycle rule intact",
    );
    assert.ok(!left.some((r) => r.id === bRule.id), "B's own rule removed");
  });

  it('refusals are conditions with registered reasons, and nothing is lost', async () => {
    const cases: { name: string; ns: string; spec: Record<string, unknown>; reason: string }[] = [
      { name: 'noprofile', ns: B, spec: { storage: { profile: 'does-not-exist' } }, reason: Reason.ProfileNotFound },
      {
        name: 'glacier-ir',
        ns: B,
        spec: { storage: { profile: 'shared', storageClass: 'GLACIER_IR' } },
        reason: Reason.StorageClassNotAllowed,
      },
      {
        name: 'keep-forever',
        ns: B,
        spec: { storage: { profile: 'shared', lifecycle: { noncurrentVersionExpirationDays: 36500 } } },
        reason: Reason.LifecycleNotAllowed,
      },
    ];
    for (const c of cases) await bed.admin.apply(Resources.SftpServer, serverManifest(bed, c.ns, c.name, c.spec));
    for (const c of cases) {
      await waitFor(`${c.name}: ${c.reason}`, async () => (await reasonOf(c.ns, c.name)) === c.reason);
      const s = (await getServer(bed, c.ns, c.name)) as SftpServer;
      assert.equal(condition(s, 'Ready')?.reason, c.reason, 'Ready names the refusal');
      assert.equal(await bed.admin.getOptional(Resources.Deployment, c.ns, `${c.name}-sftp`), undefined);
    }
    // Caps: the first server keeps its place; the second is refused; freeing the place admits it.
    await bed.admin.apply(Resources.SftpServer, serverManifest(bed, B, 'first', { storage: { profile: 'capped' } }));
    await waitFor('first placed', async () => (await reasonOf(B, 'first')) === Reason.LifecycleRulesApplied);
    await bed.admin.apply(Resources.SftpServer, serverManifest(bed, B, 'second', { storage: { profile: 'capped' } }));
    await waitFor('second capped', async () => (await reasonOf(B, 'second')) === Reason.QuotaExceeded);
    assert.equal((await reasonOf(B, 'first')) as string, Reason.LifecycleRulesApplied, 'the first is untouched');
    // Users: one per namespace on this profile; the second user is refused and not in the users table.
    await bed.admin.apply(
      Resources.SftpUser,
      userManifest(B, 'u1', { serverRef: { name: 'first' }, authorizedKeys: [key] }),
    );
    await bed.admin.apply(
      Resources.SftpUser,
      userManifest(B, 'u2', { serverRef: { name: 'first' }, authorizedKeys: [key] }),
    );
    await waitFor('u2 capped', async () => {
      const u = await bed.admin.getOptional(Resources.SftpUser, B, 'u2');
      return condition(u as never, 'ServerReady')?.reason === Reason.QuotaExceeded;
    });
    await waitFor('u1 published', async () => {
      const u = await bed.admin.getOptional(Resources.SftpUser, B, 'u1');
      return condition(u as never, 'Published')?.status === 'True';
    });
    assert.equal((await getServer(bed, B, 'first'))?.status?.users, 1);
    // Freeing the place admits the refused user (its own status changes; the table takes it).
    await bed.admin.delete(Resources.SftpUser, B, 'u1');
    await waitFor('u2 admitted', async () => {
      const u = await bed.admin.getOptional(Resources.SftpUser, B, 'u2');
      return condition(u as never, 'Published')?.status === 'True';
    });
    await bed.admin.delete(Resources.SftpServer, B, 'first');
    await waitFor('second admitted', async () => (await reasonOf(B, 'second')) === Reason.LifecycleRulesApplied);
  });

  it('a later profile overlapping an earlier one is refused, and so are its servers', async () => {
    await applyProfile(bed, 'late', { root: `tenants/${A}`, namespaceSelector: {} });
    await waitFor('late refused', async () => {
      const p = await bed.admin.getOptional(Resources.SftpStorageProfile, undefined, 'late');
      return condition(p as never, 'Ready')?.reason === Reason.ProfileConflict;
    });
    const shared = await bed.admin.get(Resources.SftpStorageProfile, undefined, 'shared');
    assert.equal(condition(shared as never, 'Ready')?.reason, Reason.ProfileAccepted);
    await bed.admin.apply(Resources.SftpServer, serverManifest(bed, B, 'via-late', { storage: { profile: 'late' } }));
    await waitFor('via-late refused', async () => (await reasonOf(B, 'via-late')) === Reason.ProfileConflict);
    const message = condition(await getServer(bed, B, 'via-late'), 'StorageReady')?.message ?? '';
    assert.doesNotMatch(message, /shared/, "the tenant is not told the other profile's name");
  });

  it("the platform withdraws a namespace from a profile: that namespace's logins are revoked", async () => {
    await applyProfile(bed, 'withdrawn', {
      root: 'withdrawn',
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': B } },
    });
    await bed.admin.apply(Resources.SftpServer, serverManifest(bed, B, 'w', { storage: { profile: 'withdrawn' } }));
    await bed.admin.apply(
      Resources.SftpUser,
      userManifest(B, 'wu', { serverRef: { name: 'w' }, authorizedKeys: [key] }),
    );
    await waitFor('wu published', async () => {
      const u = await bed.admin.getOptional(Resources.SftpUser, B, 'wu');
      return condition(u as never, 'Published')?.status === 'True';
    });
    await bed.admin.mergePatch(Resources.SftpStorageProfile, undefined, 'withdrawn', {
      spec: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': A } } },
    });
    await waitFor('w refused', async () => (await reasonOf(B, 'w')) === Reason.NamespaceNotAllowed);
    const table = await usersTable(bed, B, 'w');
    assert.deepEqual(table?.users, [], 'the users table lists nobody');
    assert.equal((await getServer(bed, B, 'w'))?.status?.users, 0);
  });

  it('a pod field its profile does not allow (control-plane toleration, kube2iam role annotation) gets no pods', async () => {
    const onlyB = { matchLabels: { 'kubernetes.io/metadata.name': B } };
    const toleration = { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' };
    const role = 'iam.amazonaws.com/role';
    await applyProfile(bed, 'pods-closed', { root: 'pods-closed', namespaceSelector: onlyB });
    await applyProfile(bed, 'pods-open', {
      root: 'pods-open',
      namespaceSelector: onlyB,
      podTemplate: { allowedAnnotations: ['iam.amazonaws.com/*'], allowedTolerations: [toleration] },
    });
    const pods = { tolerations: [toleration], podAnnotations: { [role]: 'arn:aws:iam::111122223333:role/admin' } };
    await bed.admin.apply(
      Resources.SftpServer,
      serverManifest(bed, B, 'pinned', { storage: { profile: 'pods-closed' }, ...pods }),
    );
    await waitFor('pinned refused', async () => (await reasonOf(B, 'pinned')) === Reason.PodFieldNotAllowed);
    const refused = (await getServer(bed, B, 'pinned')) as SftpServer;
    assert.equal(condition(refused, 'Ready')?.reason, Reason.PodFieldNotAllowed, 'Ready names the refusal');
    assert.match(condition(refused, 'Ready')?.message ?? '', /podAnnotations\[iam\.amazonaws\.com\/role\]/);
    assert.doesNotMatch(condition(refused, 'Ready')?.message ?? '', /arn:aws/, 'the value is never echoed');
    assert.equal(await bed.admin.getOptional(Resources.Deployment, B, 'pinned-sftp'), undefined);
    assert.deepEqual(await keys('pods-closed/'), [], 'nothing written under the profile');
    // The same fields under a profile that allows them reach the pods.
    await bed.admin.apply(
      Resources.SftpServer,
      serverManifest(bed, B, 'allowed', { storage: { profile: 'pods-open' }, ...pods }),
    );
    const d = (await waitFor('allowed Deployment', () =>
      bed.admin.getOptional(Resources.Deployment, B, 'allowed-sftp'),
    )) as V1Deployment;
    assert.deepEqual(d.spec?.template.spec?.tolerations, [toleration]);
    assert.equal(d.spec?.template.metadata?.annotations?.[role], pods.podAnnotations[role]);
    // The platform tightening the profile refuses the server again.
    await bed.admin.mergePatch(Resources.SftpStorageProfile, undefined, 'pods-open', {
      spec: { podTemplate: { allowedAnnotations: [] } },
    });
    await waitFor('allowed refused', async () => (await reasonOf(B, 'allowed')) === Reason.PodFieldNotAllowed);
  });

  it("a webhook to the metadata service or another namespace's Service is refused, and nothing is sent", async () => {
    const onlyB = { matchLabels: { 'kubernetes.io/metadata.name': B } };
    await applyProfile(bed, 'hooks', {
      root: 'hooks',
      namespaceSelector: onlyB,
      notifications: { allowedDestinations: [{ urlPrefix: 'https://hooks.example.com/sftp/' }] },
    });
    const webhook = (url: string) => ({
      storage: { profile: 'hooks' },
      notifications: { webhook: { url, secretRef: { name: 'planted-creds', key: 'password' } } },
    });
    const attacks = {
      metadata: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'other-ns': `http://data.${A}.svc.cluster.local:8080/admin`,
      planted: `${plantedUrl}/hook`,
    };
    for (const [name, url] of Object.entries(attacks)) {
      await bed.admin.apply(Resources.SftpServer, serverManifest(bed, B, `hook-${name}`, webhook(url)));
    }
    for (const name of Object.keys(attacks)) {
      await waitFor(
        `hook-${name} refused`,
        async () => (await reasonOf(B, `hook-${name}`)) === Reason.NotificationDestinationNotAllowed,
      );
      const refused = (await getServer(bed, B, `hook-${name}`)) as SftpServer;
      assert.equal(condition(refused, 'Ready')?.reason, Reason.NotificationDestinationNotAllowed);
      assert.doesNotMatch(condition(refused, 'Ready')?.message ?? '', /meta-data|admin|\/hook/, 'origin only');
      assert.equal(await bed.admin.getOptional(Resources.Deployment, B, `hook-${name}-sftp`), undefined, 'no pods');
    }
    assert.deepEqual(await keys('hooks/'), [], 'nothing written under the profile');
    // An allowed URL reaches the pods as configuration; the key Secret is mounted, never read into the spec.
    await bed.admin.apply(
      Resources.SftpServer,
      serverManifest(bed, B, 'hook-ok', webhook('https://hooks.example.com/sftp/b')),
    );
    const d = (await waitFor('hook-ok Deployment', () =>
      bed.admin.getOptional(Resources.Deployment, B, 'hook-ok-sftp'),
    )) as V1Deployment;
    const env = d.spec?.template.spec?.containers[0]?.env ?? [];
    assert.equal(env.find((e) => e.name === 'SFTPGATE_NOTIFY_URL')?.value, 'https://hooks.example.com/sftp/b');
    assert.doesNotMatch(JSON.stringify(d), /pw-123456789/, 'the key never enters the spec');
    await waitQuiet(op);
    assert.deepEqual(received, [], 'the planted listener received nothing');
  });

  it('the operator caches only its own Secrets and those of its namespace; tenant Secrets are read by name', () => {
    const { secrets, operatorSecrets } = op.controllers.context;
    for (const s of secrets.list()) {
      assert.equal(s.metadata?.labels?.['app.kubernetes.io/managed-by'], 'sftpgate', String(s.metadata?.name));
    }
    for (const s of operatorSecrets.list()) assert.equal(s.metadata?.namespace, OPERATOR_NS);
    assert.equal(secrets.get(`${B}/planted-creds`), undefined);
  });
});
