// A hostile user against the pod's upload budget, with raw SFTP packets over a real SSH connection to the in-process
// pod on real MinIO: one-byte writes at part offsets pin at most the user's share (the next WRITE waits, then fails
// BUSY), another user's upload still finishes, an idle upload's reservation is released, 1-byte writes at alternating
// offsets stop at the per-part range cap, and the buffered-bytes gauge never exceeds the pod budget.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { OpenFlags, Status } from '../../sftp-pod/src/sftp/constants.ts';
import { type StatusReply, TestSftpClient } from '../../sftp-pod/src/sftp/testing/client.ts';
import { ALL_PERMISSIONS, type Harness, PREFIX, sha256, startHarness } from '../e2e/sftp-harness.ts';

const { Client } = ssh2;
type Client = InstanceType<typeof Client>;
const MiB = 1024 * 1024;
const PART = 5 * MiB;
const BUDGET = 40 * MiB; // per user: a quarter, raised to three parts = 15 MiB
let h: Harness;
const clients: Client[] = [];

before(async () => {
  h = await startHarness({
    args: [
      '--part-size=5MiB',
      `--memory-budget=${BUDGET}`,
      '--budget-wait-timeout=2s',
      '--upload-idle-release=8s',
      '--max-sessions-per-user=10',
    ],
    users: (keys) => [
      { username: 'mallory', publicKeys: [keys['stranger']?.publicLine ?? ''], permissions: [...ALL_PERMISSIONS] },
    ],
  });
});
after(async () => {
  for (const c of clients) c.end();
  await h?.stop();
});

async function mallory(): Promise<TestSftpClient> {
  const c = await new Promise<Client>((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.connect({
      host: '127.0.0.1',
      port: h.port,
      username: 'mallory',
      privateKey: h.keys['stranger']?.privateKey ?? Buffer.alloc(0),
      readyTimeout: 30_000,
    });
  });
  clients.push(c);
  const channel = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
    c.subsys('sftp', (err, ch) => (err ? reject(err) : resolve(ch))),
  );
  const sftp = new TestSftpClient(channel);
  await sftp.init();
  return sftp;
}

async function openNew(sftp: TestSftpClient, path: string): Promise<Buffer> {
  const handle = await sftp.open(path, OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC);
  assert.ok(Buffer.isBuffer(handle), `open ${path}: ${JSON.stringify(handle)}`);
  return handle;
}

/** The pod's sftpgate_upload_buffered_bytes gauge. */
async function bufferedBytes(): Promise<number> {
  const text = await (await fetch(`${h.metricsUrl}/metrics`)).text();
  const m = /^sftpgate_upload_buffered_bytes (\S+)$/m.exec(text);
  assert.ok(m, 'gauge exported');
  return Number(m[1]);
}

describe('fair upload budget against a hostile user', () => {
  test('1-byte writes at part offsets pin only the user share; the next write fails BUSY; alice still uploads', async () => {
    const m = await mallory();
    const held: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      const handle = await openNew(m, `/pin${i}`);
      // At offset 1: a hole at offset 0, so none of these can ever be stored.
      assert.equal((await m.write(handle, 1, Buffer.from('x'))).code, Status.OK);
      held.push(handle);
    }
    // The user's share (15 MiB = three parts) is reserved: the fourth upload waits for it, then gives up.
    const fourth = await openNew(m, '/pin3');
    const started = Date.now();
    const blocked = m.write(fourth, 1, Buffer.from('x'));

    // Meanwhile another user's 20 MiB upload (four parts, OpenSSH sftp) finishes with the right bytes.
    const data = randomBytes(4 * PART);
    const local = join(h.dir, 'alice-big.bin');
    writeFileSync(local, data);
    const put = await h.sftp('alice', `put ${local} /big.bin\n`);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(await h.sha256Of(`${PREFIX}/alice/big.bin`), sha256(data));
    assert.ok((await bufferedBytes()) <= BUDGET);

    const busy: StatusReply = await blocked;
    assert.equal(busy.code, Status.FAILURE);
    assert.match(
      busy.message,
      /waited 2 s for upload memory: the (session|user)'s share \(15728640 bytes\) stayed full/,
    );
    assert.ok(Date.now() - started >= 1900, 'the write waited before failing');
    const closed = await m.close(fourth);
    assert.equal(closed.code, Status.FAILURE, 'the failed upload stores nothing');

    // Idle release: with no WRITE for 8 s the reservations are dropped, and a later WRITE says why.
    await new Promise((r) => setTimeout(r, 9000));
    const late = await m.write(held[0] as Buffer, 0, Buffer.from('y'));
    assert.equal(late.code, Status.FAILURE);
    assert.match(late.message, /no data for 8 s while holding upload memory/);
    // Every reservation is back: mallory can reserve her whole share again.
    for (const handle of held) await m.close(handle);
    const again: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      const handle = await openNew(m, `/again${i}`);
      assert.equal((await m.write(handle, 1, Buffer.from('z'))).code, Status.OK);
      again.push(handle);
    }
    for (const handle of again) await m.close(handle); // holes at commit: refused, nothing stored
    const keys = await h.listAll();
    assert.deepEqual(
      keys.filter((k) => k.startsWith(`${PREFIX}/mallory/`)),
      [],
      'nothing of the refused uploads is visible',
    );
    assert.deepEqual(await h.inProgressUploads(), []);
    assert.equal(await bufferedBytes(), 0);
  });

  test('1-byte writes at alternating offsets stop at 1,024 pieces per part, and stay cheap', async (t) => {
    const m = await mallory();
    const handle = await openNew(m, '/pieces');
    const started = performance.now();
    const replies = await Promise.all(Array.from({ length: 1100 }, (_, i) => m.write(handle, 2 * i, Buffer.from('p'))));
    const ms = performance.now() - started;
    const refused = replies.filter((r) => r.code === Status.FAILURE);
    assert.equal(replies.filter((r) => r.code === Status.OK).length, 1024);
    assert.equal(refused.length, 1100 - 1024);
    assert.match(refused[0]?.message ?? '', /more than 1024 separate pieces in one part/);
    assert.equal((await m.close(handle)).code, Status.FAILURE, 'holes: nothing stored');
    // Informational, not asserted (shared CI machine): the first version spent O(n log n) per write here.
    t.diagnostic(`1,100 pipelined 1-byte writes at alternating offsets: ${Math.round(ms)} ms`);
  });
});
