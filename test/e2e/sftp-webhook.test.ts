// Webhook notifications end to end (docs/audit.md "Notifications"): a real sftp pod with MinIO, OpenSSH sftp as the
// client, and a real HTTP receiver on loopback (allowed by the allow-list entry, which says the destination is private)
// that answers 503, then is down (connection refused), then recovers. Every upload-completed event must reach it at
// least once with a valid HMAC signature; failures are audit events; a destination the guard forbids gets no request.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../sftp-pod/src/audit/event.ts';
import { parseConfig } from '../../sftp-pod/src/config.ts';
import { startPod } from '../../sftp-pod/src/main.ts';
import { makeHostKeyDir } from '../../sftp-pod/src/ssh/testing/keys.ts';
import { silentLogger } from '../../sftp-pod/src/telemetry/log.ts';
import { makeTempDir, removeTempDir, runCommand, sftpClientArgs, waitUntil } from '../infra/index.ts';
import { BUCKET, type Harness, PREFIX, sha256, startHarness } from './sftp-harness.ts';
import { WebhookReceiver } from './sftp-webhook-receiver.ts';

const KEY = randomBytes(32);
let h: Harness;
let receiver: WebhookReceiver;
let keyDir: string;
const audited: AuditEvent[] = [];

before(async () => {
  keyDir = makeTempDir('sftp-webhook');
  writeFileSync(keyFile(), KEY, { mode: 0o600 });
  receiver = new WebhookReceiver(KEY);
  await receiver.start();
  const base = `http://127.0.0.1:${receiver.port}`;
  h = await startHarness({
    audit: { emit: (e) => audited.push(e) },
    args: [
      `--notify-url=${base}/hooks/acme`,
      `--notify-allowed-prefix=${base}/hooks/`,
      '--notify-allow-http=true',
      // A test receiver on 127.0.0.1 is reachable only because the allow-list entry says so.
      '--notify-allow-private-addresses=true',
      '--notify-events=upload,rename',
      `--notify-hmac-key-file=${keyFile()}`,
      '--notify-retry-base=50ms',
      '--notify-retry-max=400ms',
      '--notify-timeout=2s',
      '--server-name=acme',
    ],
  });
});
after(async () => {
  await h?.stop();
  await receiver?.stop();
  removeTempDir(keyDir);
});

/** The tenant's HMAC key, as the mounted Secret key would be. */
function keyFile(): string {
  return join(keyDir, 'hmac.key');
}

async function metric(name: string): Promise<string> {
  return (await (await fetch(`${h.metricsUrl}/metrics`)).text())
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');
}

function failedAttempts(text: string): number {
  return Number(/result="failed"\} (\d+)/.exec(text)?.[1] ?? 0);
}

function upload(files: { name: string; data: Buffer }[]) {
  for (const f of files) writeFileSync(join(h.dir, f.name), f.data);
  return h.sftp('alice', files.map((f) => `put ${join(h.dir, f.name)} /${f.name}`).join('\n'));
}

describe('webhook notifications', () => {
  test('every upload completed is delivered at least once, signed, through 503s and a refused connection', async () => {
    // 1. The receiver answers 503: the first delivery is retried with backoff, the others wait behind it.
    receiver.answer = 503;
    const first = [1, 2, 3].map((i) => ({ name: `w${i}.bin`, data: randomBytes(1000 * i) }));
    let r = await upload(first);
    assert.equal(r.code, 0, r.stderr);
    await waitUntil('three failed attempts', async () => receiver.received.length >= 3, { timeoutMs: 20_000 });
    assert.equal(receiver.delivered.length, 0);
    // 2. The receiver is down: connection refused.
    await receiver.stop();
    const failedAtStop = failedAttempts(await metric('sftpgate_webhook_attempts_total'));
    const before = receiver.received.length;
    const second = [4, 5].map((i) => ({ name: `w${i}.bin`, data: randomBytes(1000 * i) }));
    // A rename is selected too (--notify-events=upload,rename); mkdir is not.
    for (const f of second) writeFileSync(join(h.dir, f.name), f.data);
    r = await h.sftp(
      'alice',
      [
        ...second.map((f) => `put ${join(h.dir, f.name)} /${f.name}`),
        'mkdir /notified-not',
        'rename /w5.bin /w5-renamed.bin',
      ].join('\n'),
    );
    assert.equal(r.code, 0, r.stderr);
    // The retries now meet a refused connection: the failed-attempt count grows while the receiver sees nothing.
    await waitUntil(
      'refused connections counted',
      async () => failedAttempts(await metric('sftpgate_webhook_attempts_total')) >= failedAtStop + 2,
      { timeoutMs: 20_000 },
    );
    assert.equal(receiver.received.length, before, 'nothing reached a stopped receiver');
    // 3. Recovery: everything queued is delivered, in order.
    receiver.answer = 204;
    await receiver.start();
    const files = [...first, ...second];
    await waitUntil('every delivery accepted', async () => receiver.delivered.length >= files.length + 1, {
      timeoutMs: 30_000,
    });
    const bodies = receiver.delivered.map((d) => JSON.parse(d.body) as { id: string; type: string; event: AuditEvent });
    for (const f of files) {
      const got = bodies.filter((b) => b.type === 'upload' && b.event.path === `/${f.name}`);
      assert.ok(got.length >= 1, `${f.name} delivered`);
      const e = got[0]?.event;
      assert.deepEqual(
        [e?.status, e?.bytes, e?.sha256, e?.key, e?.user],
        ['ok', f.data.length, sha256(f.data), `${PREFIX}/alice/${f.name}`, 'alice'],
      );
    }
    const rename = bodies.find((b) => b.type === 'rename');
    assert.equal(rename?.event.targetPath, '/w5-renamed.bin');
    assert.ok(!bodies.some((b) => b.type === 'mkdir'), 'mkdir was not selected');
    // Every request (failed ones too) carried a valid signature, its delivery id in the header and the body alike,
    // and a retry reused the id: the receiver dedupes on it.
    for (const d of receiver.received) {
      assert.ok(d.validSignature, `signature of ${d.id}`);
      assert.equal((JSON.parse(d.body) as { id: string }).id, d.id);
    }
    const ids = receiver.received.map((d) => d.id);
    assert.ok(ids.length > new Set(ids).size, 'retries carry the same delivery id');
    assert.equal(new Set(receiver.delivered.map((d) => d.id)).size, files.length + 1);
    // The failures are audit events (first failure of a delivery), never the notification of themselves.
    const notify = audited.filter((e) => e.action === 'notify');
    assert.ok(notify.length >= 1);
    for (const e of notify) {
      assert.equal(e.status, 'failure');
      assert.match(e.message ?? '', /HTTP 503|ECONNREFUSED/);
      assert.ok(ids.includes(e.deliveryId ?? ''));
    }
    assert.ok(!bodies.some((b) => b.type === 'notify'));
    assert.match(await metric('sftpgate_webhook_queued'), /sftpgate_webhook_queued 0/);
    assert.match(await metric('sftpgate_webhook_dropped_total'), /^(# .*\n?)*$/, 'nothing dropped');
  });

  test('the address guard: a loopback destination its entry does not call private gets no request at all', async () => {
    const hostKeys = makeHostKeyDir();
    const base = `http://127.0.0.1:${receiver.port}`;
    const events: AuditEvent[] = [];
    const config = parseConfig(
      h.podFlags({
        hostKeyDir: hostKeys.dir,
        args: [
          `--notify-url=${base}/hooks/guarded`,
          `--notify-allowed-prefix=${base}/hooks/`,
          '--notify-allow-http=true',
          `--notify-hmac-key-file=${keyFile()}`,
          '--notify-retry-base=50ms',
          '--notify-retry-max=100ms',
        ],
      }),
      {},
    );
    const pod = await startPod(config, { log: silentLogger, audit: { emit: (e) => events.push(e) } });
    try {
      const before = receiver.received.length;
      writeFileSync(join(h.dir, 'g.bin'), 'guarded');
      const r = await runCommand(
        'sftp',
        [
          '-b',
          '-',
          ...sftpClientArgs({ port: pod.sshAddress.port, user: 'alice', keyFile: h.keys['alice']?.file ?? '' }),
        ],
        { input: `put ${join(h.dir, 'g.bin')} /g.bin\n`, allowFailure: true, timeoutMs: 60_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      await waitUntil('refused attempts', async () => events.some((e) => e.action === 'notify'), { timeoutMs: 10_000 });
      const refused = events.find((e) => e.action === 'notify');
      assert.match(
        refused?.message ?? '',
        /address 127\.0\.0\.1 is loopback \(the allow-list entry does not allow private addresses\)/,
      );
      assert.equal(refused?.path, '/g.bin');
      const metrics = await (await fetch(`http://127.0.0.1:${pod.metricsAddress.port}/metrics`)).text();
      assert.match(metrics, /sftpgate_webhook_attempts_total\{result="refused"\} [1-9]/);
      assert.equal(receiver.received.length, before, 'no request reached the receiver');
    } finally {
      await pod.shutdown(0);
      hostKeys.remove();
    }
  });

  test('a URL outside the allowed prefix stops the pod at start (the cloud metadata service, another path)', () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', `http://127.0.0.1:${receiver.port}/admin`]) {
      const parse = () =>
        parseConfig(
          [
            `--users-file=${h.usersFile}`,
            `--s3-bucket=${BUCKET}`,
            `--notify-url=${url}`,
            `--notify-allowed-prefix=http://127.0.0.1:${receiver.port}/hooks/`,
            '--notify-allow-http=true',
            `--notify-hmac-key-file=${keyFile()}`,
          ],
          {},
        );
      assert.throws(parse, /--notify-url: webhook destination .* is not in the storage profile's notifications/);
    }
  });
});
