// A server's webhook reaches the pods only where its profile allows: the tenant attack (a URL to the cloud metadata
// service or to another namespace's Service) is refused with a condition, and nothing is created — no Deployment, no
// mount, and no request (the operator never contacts the URL; the pods re-check it and guard addresses at send time).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { ConditionType, Reason } from '../../api/conditions.ts';
import type { SftpServer, SftpStorageProfile } from '../../api/types.generated.ts';
import { getCondition } from '../../runtime/conditions.ts';
import { fakeContext } from '../testing/fake-context.ts';
import { placementFixture, profileFixture, serverFixture } from '../testing/fixtures.ts';
import { desiredDeployment } from './desired.ts';
import { notifyEnv, webhookRefusal } from './notifications.ts';
import { SftpServerReconciler } from './reconciler.ts';

const allowing = (p: SftpStorageProfile['spec']) => {
  p.notifications = {
    allowedDestinations: [
      { urlPrefix: 'https://hooks.example.com/sftp/', allowInsecureHTTP: false, allowPrivateAddresses: false },
      { urlPrefix: 'http://receiver.tenants.svc:8080/in', allowInsecureHTTP: true, allowPrivateAddresses: true },
    ],
  };
};

const withWebhook = (url: string) => (s: SftpServer['spec']) => {
  s.notifications = {
    webhook: {
      url,
      secretRef: { name: 'hook-key', key: 'hmac' },
      events: ['upload', 'delete'],
      queueSize: 500,
      maxAge: '2h',
    },
  };
};

describe('server notifications', () => {
  it('no webhook: nothing to check, no env, no mount', () => {
    const server = serverFixture();
    assert.equal(webhookRefusal(server, placementFixture()), undefined);
    assert.deepEqual(notifyEnv(server, placementFixture()), []);
  });

  it('an allowed webhook: the URL, the entry that allowed it and the mounted key file reach the pod', () => {
    const server = serverFixture(withWebhook('http://receiver.tenants.svc:8080/in/acme'));
    const placement = placementFixture(profileFixture(allowing));
    assert.equal(webhookRefusal(server, placement), undefined);
    const d: V1Deployment = desiredDeployment(server, placement, { image: 'img' }, 'digest');
    const pod = d.spec?.template.spec;
    const env = Object.fromEntries((pod?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    assert.deepEqual(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('SFTPGATE_NOTIFY_'))), {
      SFTPGATE_NOTIFY_URL: 'http://receiver.tenants.svc:8080/in/acme',
      SFTPGATE_NOTIFY_ALLOWED_PREFIX: 'http://receiver.tenants.svc:8080/in',
      SFTPGATE_NOTIFY_ALLOW_HTTP: 'true',
      SFTPGATE_NOTIFY_ALLOW_PRIVATE_ADDRESSES: 'true',
      SFTPGATE_NOTIFY_EVENTS: 'upload,delete',
      SFTPGATE_NOTIFY_HMAC_KEY_FILE: '/etc/sftpgate/notify/hmac-key',
      SFTPGATE_NOTIFY_QUEUE_SIZE: '500',
      SFTPGATE_NOTIFY_MAX_AGE: '2h',
    });
    const volume = pod?.volumes?.find((v) => v.name === 'notify-key');
    assert.deepEqual(volume?.secret, {
      secretName: 'hook-key',
      defaultMode: 0o440,
      items: [{ key: 'hmac', path: 'hmac-key' }],
    });
    assert.ok(pod?.containers[0]?.volumeMounts?.some((m) => m.name === 'notify-key' && m.readOnly));
    // The key never becomes an environment variable: only a file from the mounted Secret.
    assert.ok(!pod?.containers[0]?.env?.some((e) => e.valueFrom?.secretKeyRef?.name === 'hook-key'));
  });

  for (const [name, url] of [
    ['the cloud metadata service', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
    ['the IPv6 metadata service', 'http://[fd00:ec2::254]/latest/meta-data/'],
    ["another namespace's Service", 'http://admin.other-tenant.svc.cluster.local:8080/'],
    ['the allowed host on another port', 'https://hooks.example.com:8443/sftp/x'],
    ['a path escaping the allowed prefix', 'https://hooks.example.com/sftp/../admin'],
    ['plain http to an https-only entry', 'http://hooks.example.com/sftp/x'],
  ] as const) {
    it(`tenant attack: a webhook to ${name} is refused with NotificationDestinationNotAllowed, nothing created`, async () => {
      const ctx = fakeContext();
      ctx.profiles.put(profileFixture(allowing));
      ctx.secrets.put({
        metadata: { name: 'creds', namespace: 'tenants' },
        data: { AWS_ACCESS_KEY_ID: btoa('id'), AWS_SECRET_ACCESS_KEY: btoa('secret') },
      });
      ctx.servers.put(serverFixture(withWebhook(url)));
      const r = new SftpServerReconciler(ctx, () => 1_000);
      await r.reconcile('tenants/demo', new AbortController().signal).catch(() => undefined);
      const status = (ctx.kube.writes().find((c) => c.subresource === 'status')?.body as SftpServer | undefined)
        ?.status;
      const storage = getCondition(status?.conditions, ConditionType.StorageReady);
      assert.equal(storage?.reason, Reason.NotificationDestinationNotAllowed);
      assert.equal(getCondition(status?.conditions, ConditionType.Ready)?.status, 'False');
      assert.match(
        storage?.message ?? '',
        /is not in the storage profile's notifications\.allowedDestinations|plain http/,
      );
      const children = ctx.kube.writes().filter((c) => c.subresource !== 'status');
      assert.ok(
        !children.some((c) => ['Deployment', 'Service', 'ServiceAccount'].includes(c.kind)),
        `no workload: ${children.map((c) => c.kind).join(', ')}`,
      );
      assert.equal(ctx.buckets.length, 0, 'storage untouched');
    });
  }

  it('a profile without notifications allows none', () => {
    const server = serverFixture(withWebhook('https://hooks.example.com/sftp/x'));
    assert.match(webhookRefusal(server, placementFixture()) ?? '', /allows no notification destinations/);
    assert.deepEqual(notifyEnv(server, placementFixture()), []);
  });
});
