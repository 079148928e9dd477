// The operator against a real kube-apiserver and MinIO: a server's storage, host keys, children and users table;
// users joining and leaving; bad input reported in status; zero writes once converged; restarts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { GetBucketLifecycleConfigurationCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Resources } from '../../operator/src/runtime/kube-client.ts';
import { generateHostKey } from '../../operator/src/secrets/host-keys.ts';
import { verifyPassword } from '../../sftp-pod/src/users/password.ts';
import {
  applyProfile,
  condition,
  getServer,
  getUser,
  type RunningOperator,
  repoRoot,
  serverManifest,
  sshKeyPair,
  startOperator,
  startTenantBed,
  type TestBed,
  userManifest,
  usersTable,
  waitFor,
  waitQuiet,
} from './operator-harness.ts';

const NS = 'tenants';
let bed: TestBed;
let op: RunningOperator;

before(async () => {
  bed = await startTenantBed(NS);
  op = startOperator(bed);
});
after(async () => {
  await op?.stop();
  await bed?.stop();
});

const headExists = async (Key: string): Promise<boolean> => {
  try {
    await bed.minio.s3().send(new HeadObjectCommand({ Bucket: 'sftp', Key }));
    return true;
  } catch {
    return false;
  }
};

describe('SftpServer', () => {
  it('storage and host keys become ready; Ready says why it is not (no kubelet: no pods)', async () => {
    await bed.admin.apply(Resources.SftpServer, serverManifest(bed, NS, 'demo'));
    const server = await waitFor('StorageReady and HostKeysReady', async () => {
      const s = await getServer(bed, NS, 'demo');
      return condition(s, 'StorageReady')?.status === 'True' && condition(s, 'HostKeysReady')?.status === 'True' && s;
    });
    assert.equal(server.status?.versioning, 'Enabled');
    assert.equal(server.status?.hostKeyFingerprints?.length, 2);
    for (const f of server.status?.hostKeyFingerprints ?? []) assert.match(f.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    const ready = await waitFor('Ready=False DeploymentUnavailable', async () => {
      const r = condition(await getServer(bed, NS, 'demo'), 'Ready');
      return r?.reason === 'DeploymentUnavailable' && r;
    });
    assert.equal(ready.status, 'False');
    assert.equal(condition(await getServer(bed, NS, 'demo'), 'Available')?.status, 'False');
  });

  it('a missing bucket: StorageReady=False, reason BucketNotFound, the S3 error in the message', async () => {
    await applyProfile(bed, 'nobucket', { bucket: 'does-not-exist' });
    await bed.admin.apply(
      Resources.SftpServer,
      serverManifest(bed, NS, 'nobucket', { storage: { profile: 'nobucket' } }),
    );
    const c = await waitFor('BucketNotFound', async () => {
      const x = condition(await getServer(bed, NS, 'nobucket'), 'StorageReady');
      return x?.reason === 'BucketNotFound' && x;
    });
    assert.equal(c.status, 'False');
    assert.match(c.message, /does-not-exist/);
    assert.match(c.message, /NoSuchBucket|NotFound/);
    await bed.admin.delete(Resources.SftpServer, NS, 'nobucket');
  });

  it('children exist with an owner reference to the server', async () => {
    const server = await getServer(bed, NS, 'demo');
    const uid = server?.metadata.uid;
    const children: [(typeof Resources)[keyof typeof Resources], string][] = [
      [Resources.Deployment, 'demo-sftp'],
      [Resources.Service, 'demo-sftp'],
      [Resources.ServiceAccount, 'demo-sftp'],
      [Resources.PodDisruptionBudget, 'demo-sftp'],
      [Resources.NetworkPolicy, 'demo-sftp'],
      [Resources.Role, 'demo-sftp'],
      [Resources.RoleBinding, 'demo-sftp'],
      [Resources.Secret, 'demo-host-keys'],
      [Resources.Secret, 'demo-users-0'],
    ];
    for (const [type, name] of children) {
      const obj = await waitFor(`${type.kind} ${name}`, () => bed.admin.getOptional(type, NS, name));
      const ref = obj.metadata?.ownerReferences?.[0];
      assert.equal(ref?.uid, uid, `${type.kind} ${name} owner`);
      assert.equal(ref?.controller, true);
    }
    const dep = (await bed.admin.get(Resources.Deployment, NS, 'demo-sftp')) as {
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    };
    assert.match(dep.spec.template.metadata.annotations['checksum/config'] ?? '', /^[0-9a-f]{64}$/);
  });

  it('lifecycle rules and the prefix marker are in the bucket', async () => {
    const rules =
      (await bed.minio.s3().send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'sftp' }))).Rules ?? [];
    const ours = rules.find(
      (r) => r.ID?.startsWith('sftpgate-') && (r.Filter?.Prefix ?? r.Prefix) === 'servers/tenants/demo/',
    );
    assert.ok(ours, JSON.stringify(rules));
    assert.equal(ours.NoncurrentVersionExpiration?.NoncurrentDays, 30);
    assert.equal(ours.Expiration?.ExpiredObjectDeleteMarker, true);
    assert.ok(await headExists('servers/tenants/demo/'));
  });
});

describe('SftpUser', () => {
  it('a key user joins the users table and reports prefix and fingerprint', async () => {
    const key = sshKeyPair(bed.tmp, 'alice');
    await bed.admin.apply(
      Resources.SftpUser,
      userManifest(NS, 'alice', { serverRef: { name: 'demo' }, authorizedKeys: [key.publicKey] }),
    );
    const table = await waitFor('alice in the users table', async () => {
      const t = await usersTable(bed, NS, 'demo');
      return t?.users.some((u) => u.username === 'alice') && t;
    });
    assert.deepEqual(table.users.find((u) => u.username === 'alice')?.publicKeys, [key.publicKey]);
    const user = await waitFor('alice Ready', async () => {
      const u = await getUser(bed, NS, 'alice');
      return condition(u, 'Ready')?.status === 'True' && u;
    });
    assert.equal(user.status?.prefix, 's3://sftp/servers/tenants/demo/alice/');
    assert.equal(user.status?.usersSecret, 'demo-users-0');
    assert.match(user.status?.keyFingerprints?.[0] ?? '', /^SHA256:/);
    assert.ok(await headExists('servers/tenants/demo/alice/'));
    assert.equal((await getServer(bed, NS, 'demo'))?.status?.users, 1);
  });

  it('a password user gets a hash the pod verifies; changing the Secret re-hashes', async () => {
    await bed.admin.apply(Resources.Secret, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bob-pw', namespace: NS },
      stringData: { password: 'first-password-123' },
    } as never);
    await bed.admin.apply(
      Resources.SftpUser,
      userManifest(NS, 'bob', { serverRef: { name: 'demo' }, passwordSecretRef: { name: 'bob-pw' } }),
    );
    const first = await waitFor(
      'bob hashed',
      async () => (await usersTable(bed, NS, 'demo'))?.users.find((u) => u.username === 'bob')?.passwordHash,
    );
    assert.equal(await verifyPassword('first-password-123', first), true);
    assert.ok(!JSON.stringify(await usersTable(bed, NS, 'demo')).includes('first-password-123'));
    await bed.admin.apply(Resources.Secret, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bob-pw', namespace: NS },
      stringData: { password: 'second-password-456' },
    } as never);
    const second = await waitFor('bob re-hashed', async () => {
      const h = (await usersTable(bed, NS, 'demo'))?.users.find((u) => u.username === 'bob')?.passwordHash;
      return h !== first && h;
    });
    assert.equal(await verifyPassword('second-password-456', second), true);
    assert.equal(await verifyPassword('first-password-123', second), false);
  });

  it('passwordSecretRef.format Hash: an imported sha512-crypt hash is copied as it is; a plaintext is refused', async () => {
    const imported = execFileSync('openssl', ['passwd', '-6', '-salt', 'from.pam', 'migrated-password-1'], {
      encoding: 'utf8',
    }).trim();
    for (const [name, value] of [
      ['dave-pw', imported],
      ['erin-pw', 'a plaintext, not a hash'],
    ] as const) {
      await bed.admin.apply(Resources.Secret, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: NS },
        stringData: { password: value },
      } as never);
    }
    for (const name of ['dave', 'erin']) {
      await bed.admin.apply(
        Resources.SftpUser,
        userManifest(NS, name, {
          serverRef: { name: 'demo' },
          passwordSecretRef: { name: `${name}-pw`, format: 'Hash' },
        }),
      );
    }
    const hash = await waitFor(
      'dave imported',
      async () => (await usersTable(bed, NS, 'demo'))?.users.find((u) => u.username === 'dave')?.passwordHash,
    );
    assert.equal(hash, imported);
    assert.equal(await verifyPassword('migrated-password-1', hash), true);
    const erin = await waitFor('erin refused', async () => {
      const c = condition(await getUser(bed, NS, 'erin'), 'Validated');
      return c?.status === 'False' && c;
    });
    assert.equal(erin.reason, 'InvalidPassword');
    assert.match(erin.message, /format Hash: not a supported hash/);
    assert.ok(!erin.message.includes('plaintext, not a hash'));
    assert.ok(!(await usersTable(bed, NS, 'demo'))?.users.some((u) => u.username === 'erin'));
  });

  it('examples/sftpuser-password.yaml applied with kubectl: carol gets a hash of the example password', async () => {
    await bed.cp.kubectl(['apply', '-n', NS, '-f', `${repoRoot}examples/sftpuser-password.yaml`]);
    const hash = await waitFor(
      'carol hashed',
      async () => (await usersTable(bed, NS, 'demo'))?.users.find((u) => u.username === 'carol')?.passwordHash,
    );
    assert.equal(await verifyPassword('change-me-please-1234', hash), true);
  });

  const invalid: { name: string; spec: Record<string, unknown>; condition: string; reason: string }[] = [
    {
      name: 'bad-key',
      spec: { serverRef: { name: 'demo' }, authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFyYmFnZQ== x'] },
      condition: 'Validated',
      reason: 'InvalidAuthorizedKey',
    },
    {
      name: 'no-server',
      spec: { serverRef: { name: 'missing' }, authorizedKeys: [sshKeyPairLine()] },
      condition: 'ServerReady',
      reason: 'ServerNotFound',
    },
    {
      name: 'no-password-secret',
      spec: { serverRef: { name: 'demo' }, passwordSecretRef: { name: 'nope' } },
      condition: 'Validated',
      reason: 'PasswordSecretNotFound',
    },
  ];
  for (const c of invalid) {
    it(`reported in status, not in the table: ${c.name} → ${c.reason}`, async () => {
      await bed.admin.apply(Resources.SftpUser, userManifest(NS, c.name, c.spec));
      const cond = await waitFor(`${c.name} ${c.reason}`, async () => {
        const u = await getUser(bed, NS, c.name);
        const x = condition(u, c.condition);
        return x?.reason === c.reason && x;
      });
      assert.equal(cond.status, 'False');
      assert.ok(cond.message.length > 0);
      assert.equal(condition(await getUser(bed, NS, c.name), 'Ready')?.status, 'False');
      assert.ok(!(await usersTable(bed, NS, 'demo'))?.users.some((u) => u.username === c.name));
    });
  }

  it('a username claimed twice: the newer claim is refused with UsernameConflict', async () => {
    await bed.admin.apply(
      Resources.SftpUser,
      userManifest(NS, 'alice-dup', {
        serverRef: { name: 'demo' },
        username: 'alice',
        authorizedKeys: [sshKeyPairLine()],
      }),
    );
    await waitFor(
      'UsernameConflict',
      async () => condition(await getUser(bed, NS, 'alice-dup'), 'Validated')?.reason === 'UsernameConflict',
    );
  });

  it('deleting a user removes it from the table (Retain: data kept)', async () => {
    await bed.admin.delete(Resources.SftpUser, NS, 'alice-dup');
    await bed.admin.delete(Resources.SftpUser, NS, 'alice');
    await waitFor(
      'alice gone from the table',
      async () => !(await usersTable(bed, NS, 'demo'))?.users.some((u) => u.username === 'alice'),
    );
    assert.ok(await headExists('servers/tenants/demo/alice/'));
  });
});

describe('operator hygiene', () => {
  it('after convergence, reconciling every object again makes zero API writes', async () => {
    await waitQuiet(op);
    const before = op.client.writeCount();
    const signal = AbortSignal.timeout(60_000);
    const { serverReconciler, userReconciler, context } = op.controllers;
    for (const s of context.servers.list()) {
      await serverReconciler.reconcile(`${s.metadata.namespace}/${s.metadata.name}`, signal).catch(() => undefined);
    }
    for (const u of context.users.list()) {
      await userReconciler.reconcile(`${u.metadata.namespace}/${u.metadata.name}`, signal).catch(() => undefined);
    }
    assert.equal(op.client.writeCount() - before, 0, JSON.stringify([...op.client.counts]));
  });

  it('host keys survive operator restarts, including one mid-reconcile', async () => {
    const keysBefore = (
      (await bed.admin.get(Resources.Secret, NS, 'demo-host-keys')) as { data: Record<string, string> }
    ).data;
    await op.stop();
    // A new server, and an operator killed while it reconciles it.
    await bed.admin.apply(Resources.SftpServer, serverManifest(bed, NS, 'second'));
    op = startOperator(bed);
    await waitFor('the new operator to start writing', () => op.client.writeCount() > 0);
    await op.stop();
    op = startOperator(bed);
    await waitFor('second converged', async () => {
      const s = await getServer(bed, NS, 'second');
      return condition(s, 'StorageReady')?.status === 'True' && condition(s, 'HostKeysReady')?.status === 'True';
    });
    await waitFor('second users table', () => bed.admin.getOptional(Resources.Secret, NS, 'second-users-0'));
    const keysAfter = (
      (await bed.admin.get(Resources.Secret, NS, 'demo-host-keys')) as { data: Record<string, string> }
    ).data;
    assert.deepEqual(keysAfter, keysBefore);
    await waitQuiet(op);
    // A restarted operator converges without rewriting anything that was already right.
    const before = op.client.writeCount();
    const signal = AbortSignal.timeout(60_000);
    await op.controllers.serverReconciler.reconcile(`${NS}/demo`, signal);
    assert.equal(op.client.writeCount() - before, 0);
  });
});

/** A throwaway valid key line for specs that need one. */
function sshKeyPairLine(): string {
  return generateHostKey('ed25519').publicKey;
}
