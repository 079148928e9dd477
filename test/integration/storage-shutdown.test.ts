// Shutdown while a CLOSE is being answered: the in-process pod on MinIO behind the fault proxy, CompleteMultipartUpload
// delayed, then pod.shutdown(0) (what SIGTERM runs, with no grace). Before: the session end cancelled the Complete and
// aborted the upload although S3 may have completed it. Now the final request is never cancelled and shutdown waits
// for S3's answer: the file is stored whole and nothing is left half-done.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import ssh2 from 'ssh2';
import { OpenFlags } from '../../sftp-pod/src/sftp/constants.ts';
import { TestSftpClient } from '../../sftp-pod/src/sftp/testing/client.ts';
import { type Harness, PASSWORD, PREFIX, sha256, startHarness } from '../e2e/sftp-harness.ts';
import { waitUntil } from '../infra/index.ts';

const { Client } = ssh2;
type Client = InstanceType<typeof Client>;
const MiB = 1024 * 1024;
let h: Harness;

before(async () => {
  h = await startHarness({ faultProxy: true, args: ['--part-size=5MiB', '--memory-budget=32MiB'] });
});
after(async () => {
  await h?.stop();
});

test('SIGTERM-style shutdown during a CLOSE: the CLOSE finishes, the file is stored whole', async () => {
  const c = await new Promise<Client>((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.connect({ host: '127.0.0.1', port: h.port, username: 'alice', password: PASSWORD, readyTimeout: 30_000 });
  });
  c.on('error', () => {});
  const channel = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
    c.subsys('sftp', (err, ch) => (err ? reject(err) : resolve(ch))),
  );
  const sftp = new TestSftpClient(channel);
  await sftp.init();
  const handle = await sftp.open('/closing.bin', OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC);
  assert.ok(Buffer.isBuffer(handle));
  const data = randomBytes(5 * MiB + 12345);
  for (let off = 0; off < data.length; off += 256 * 1024) {
    assert.equal((await sftp.write(handle, off, data.subarray(off, off + 256 * 1024))).code, 0);
  }
  const proxy = h.proxy;
  const pod = h.pod;
  assert.ok(proxy && pod);
  proxy.inject({ op: 'CompleteMultipartUpload', fault: { kind: 'delay', ms: 2000 } });
  void sftp.close(handle); // the client's CLOSE; its reply may never come (the pod is going away)
  await waitUntil(
    'the Complete is on its way to S3',
    async () => proxy.log.some((r) => r.op === 'CompleteMultipartUpload'),
    { timeoutMs: 20_000 },
  );
  await pod.shutdown(0);
  assert.equal(await h.sha256Of(`${PREFIX}/alice/closing.bin`), sha256(data), 'stored whole');
  assert.deepEqual(await h.inProgressUploads(), [], 'no multipart upload left');
  c.end();
});
