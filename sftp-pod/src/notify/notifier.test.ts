import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AuditEvent } from '../audit/event.ts';
import { silentLogger } from '../telemetry/log.ts';
import { type AttemptResult, Notifier, type NotifyConfig, retryBackoff } from './notifier.ts';
import type { PostOutcome, PostRequest } from './post.ts';
import { verifySignature } from './sign.ts';

const dir = mkdtempSync(join(tmpdir(), 'notifier-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = join(dir, 'key');
writeFileSync(keyFile, 'k3y');

const config = (over: Partial<NotifyConfig> = {}): NotifyConfig => ({
  url: 'https://hooks.example.com/sftp/acme',
  allowed: { urlPrefix: 'https://hooks.example.com/sftp/' },
  events: ['upload'],
  hmacKeyFile: keyFile,
  queueSize: 100,
  maxAgeMs: 60_000,
  timeoutMs: 1000,
  retryBaseMs: 1,
  retryMaxMs: 4,
  ...over,
});

const event = (action: AuditEvent['action'], status = 'ok', path = '/in/a.csv'): AuditEvent => ({
  audit: true,
  v: 1,
  time: '2026-12-05T00:00:00.000Z',
  action,
  status,
  user: 'alice',
  server: 'acme',
  sessionId: '0123456789abcdef',
  remoteAddress: '10.0.0.1',
  path,
  key: `srv/alice${path}`,
});

function harness(c: NotifyConfig, answers: PostOutcome[]) {
  const posts: PostRequest[] = [];
  const audited: AuditEvent[] = [];
  const attempts: AttemptResult[] = [];
  const drops: string[] = [];
  const n = new Notifier(c, {
    audit: { emit: (e) => audited.push(e) },
    metrics: { attempt: (r) => attempts.push(r), dropped: (r) => drops.push(r), queued: () => {} },
    log: silentLogger,
    // No jitter: delays are exactly base x 2^(n-1), so age-based expectations cannot race the schedule.
    random: () => 0.5,
    post: async (req) => {
      posts.push(req);
      return answers.shift() ?? { ok: true, status: 204 };
    },
  });
  return { n, posts, audited, attempts, drops };
}

async function settled(n: Notifier): Promise<void> {
  for (let i = 0; i < 1000 && n.pending > 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(n.pending, 0, 'queue drained');
}

describe('retry backoff', () => {
  const schedule = (random: () => number) => {
    const b = retryBackoff({ retryBaseMs: 1000, retryMaxMs: 60_000 }, random);
    return [1, 2, 3, 4, 5, 6, 7, 8].map((n) => b.delay(n));
  };

  it('doubles from the base up to the cap without jitter (random 0.5)', () => {
    assert.deepEqual(
      schedule(() => 0.5),
      [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000],
    );
  });

  it('jitter spreads each delay over ±50 %, never above the cap', () => {
    assert.deepEqual(
      schedule(() => 0),
      [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000],
    );
    assert.deepEqual(
      schedule(() => 0.999999),
      [1500, 3000, 6000, 12_000, 24_000, 48_000, 60_000, 60_000],
    );
  });
});

describe('notifier', () => {
  it('refuses a URL its allow-list entry does not allow', () => {
    assert.throws(() => harness(config({ url: 'https://169.254.169.254/latest' }), []), /not in the storage profile/);
  });

  it('notifies successful selected events only, signed, with a delivery id', async () => {
    const { n, posts } = harness(config(), []);
    n.emit(event('upload'));
    n.emit(event('upload', 'permission_denied'));
    n.emit(event('delete'));
    await settled(n);
    assert.equal(posts.length, 1);
    const p = posts[0] as PostRequest;
    const body = JSON.parse(p.body) as { id: string; type: string; event: AuditEvent };
    assert.equal(body.type, 'upload');
    assert.equal(body.event.path, '/in/a.csv');
    assert.equal(p.headers['x-sftpgate-delivery'], body.id);
    assert.equal(p.headers['x-sftpgate-event'], 'upload');
    const now = Math.floor(Date.now() / 1000);
    assert.ok(
      verifySignature(
        Buffer.from('k3y'),
        p.headers['x-sftpgate-signature'],
        p.headers['x-sftpgate-timestamp'],
        p.body,
        now,
      ),
    );
    assert.equal(p.allowPrivateAddresses, false);
  });

  it('retries a failed delivery with the same id and body until it is delivered; audits the first failure', async () => {
    const fail: PostOutcome = { ok: false, kind: 'failed', error: 'HTTP 503', status: 503 };
    const { n, posts, audited, attempts } = harness(config(), [
      fail,
      fail,
      { ok: false, kind: 'failed', error: 'ECONNREFUSED' },
    ]);
    n.emit(event('upload', 'ok', '/a'));
    n.emit(event('upload', 'ok', '/b'));
    await settled(n);
    assert.deepEqual(attempts, ['failed', 'failed', 'failed', 'delivered', 'delivered']);
    const ids = posts.map((p) => p.headers['x-sftpgate-delivery']);
    assert.equal(new Set(ids.slice(0, 4)).size, 1, 'retries keep the id');
    assert.equal(new Set(posts.slice(0, 4).map((p) => p.body)).size, 1, 'and the body');
    assert.notEqual(ids[4], ids[0]);
    assert.deepEqual(
      audited.map((e) => [e.action, e.status, e.event, e.path, e.attempts, e.deliveryId]),
      [['notify', 'failure', 'upload', '/a', 1, ids[0]]],
    );
    assert.match(audited[0]?.message ?? '', /HTTP 503/);
  });

  it('on overflow drops the oldest, counts and audits it', async () => {
    const { n, drops, audited, posts } = harness(config({ queueSize: 2 }), []);
    n.emit(event('upload', 'ok', '/1'));
    n.emit(event('upload', 'ok', '/2'));
    n.emit(event('upload', 'ok', '/3'));
    await settled(n);
    assert.deepEqual(drops, ['overflow']);
    assert.equal(audited.length, 1);
    assert.match(audited[0]?.message ?? '', /retry queue was full/);
    // The first delivery was already in flight when it was dropped: it still went out once.
    assert.deepEqual(
      posts.map((p) => (JSON.parse(p.body) as { event: AuditEvent }).event.path),
      ['/1', '/2', '/3'],
    );
  });

  it('gives up a delivery older than the max age', async () => {
    const fail: PostOutcome = { ok: false, kind: 'refused', error: 'address 169.254.169.254 is link-local' };
    const { n, drops, attempts, audited } = harness(config({ maxAgeMs: 20, retryBaseMs: 80, retryMaxMs: 80 }), [fail]);
    n.emit(event('upload'));
    await settled(n);
    assert.deepEqual(attempts, ['refused']);
    assert.deepEqual(drops, ['expired']);
    assert.deepEqual(
      audited.map((e) => e.message?.slice(0, 31)),
      ['webhook delivery failed, will r', 'webhook delivery dropped after '],
    );
  });

  it('an unreadable key is a failed attempt, retried', async () => {
    const { n, attempts } = harness(config({ hmacKeyFile: join(dir, 'missing') }), []);
    n.emit(event('upload'));
    for (let i = 0; i < 400 && attempts.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(attempts.length >= 2 && attempts.every((a) => a === 'failed'), attempts.join());
    await n.close(0);
    assert.equal(n.pending, 1, 'kept until shutdown');
  });
});
