// Round trips through the real OpenSSH sftp client and lftp into real MinIO: sizes around the multipart boundary and
// one large file, SHA-256 compared through the S3 API and by downloading again; the regress-style matrix of buffer
// sizes x outstanding requests.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCommand } from '../infra/index.ts';
import { type Harness, PASSWORD, PREFIX, sha256, startHarness } from './sftp-harness.ts';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
let h: Harness;

before(async () => {
  h = await startHarness({ args: ['--part-size=5MiB', '--memory-budget=64MiB'] });
});
after(async () => {
  await h?.stop();
});

function makeFile(name: string, size: number): { path: string; sha: string } {
  const data = randomBytes(size);
  const path = join(h.dir, name);
  writeFileSync(path, data);
  return { path, sha: sha256(data) };
}

describe('OpenSSH sftp round trips', () => {
  const sizes: Array<[string, number]> = [
    ['zero', 0],
    ['one', 1],
    ['part-1', PART - 1],
    ['part', PART],
    ['part+1', PART + 1],
    ['three-parts', 3 * PART + 12345],
  ];

  test('sizes around the part boundary: put, S3 checksum, get, checksum', async () => {
    const files = sizes.map(([name, size]) => ({ name, size, ...makeFile(`up-${name}`, size) }));
    const batch = [
      'mkdir /sizes',
      ...files.map((f) => `put ${f.path} /sizes/${f.name}`),
      ...files.map((f) => `get /sizes/${f.name} ${join(h.dir, `down-${f.name}`)}`),
    ].join('\n');
    const r = await h.sftp('alice', batch);
    assert.equal(r.code, 0, r.stderr);
    for (const f of files) {
      assert.equal(await h.sha256Of(`${PREFIX}/alice/sizes/${f.name}`), f.sha, `S3 object ${f.name}`);
      assert.equal(sha256(readFileSync(join(h.dir, `down-${f.name}`))), f.sha, `downloaded ${f.name}`);
    }
    assert.deepEqual(await h.inProgressUploads(), []);
  });

  test('a 64 MiB file (multipart, growing window) round-trips intact', async () => {
    const f = makeFile('large', 64 * MiB);
    const r = await h.sftp('alice', `put ${f.path} /large.bin\nget /large.bin ${join(h.dir, 'large-back')}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await h.sha256Of(`${PREFIX}/alice/large.bin`), f.sha);
    assert.equal(sha256(readFileSync(join(h.dir, 'large-back'))), f.sha);
  });

  test('regress matrix: buffer sizes x outstanding requests', async () => {
    const f = makeFile('matrix', 3 * MiB + 777);
    for (const [buflen, requests] of [
      [1024, 1],
      [8192, 16],
      [32768, 64],
      [65536, 8],
      [255 * 1024, 4],
    ] as const) {
      const name = `m-${buflen}-${requests}`;
      const r = await h.sftp('alice', `put ${f.path} /${name}\nget /${name} ${join(h.dir, name)}\n`, [
        '-B',
        String(buflen),
        '-R',
        String(requests),
      ]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(await h.sha256Of(`${PREFIX}/alice/${name}`), f.sha, name);
      assert.equal(sha256(readFileSync(join(h.dir, name))), f.sha, name);
    }
  });

  test('put -p keeps the mtime; ls -l shows long names', async () => {
    const f = makeFile('old', 1000);
    const mtime = new Date('2021-03-04T05:06:07Z');
    await runCommand('touch', ['-d', mtime.toISOString(), f.path]);
    // `ls -l <dir>` prints the server's long names (a single file is printed from its attributes instead).
    const r = await h.sftp('alice', `put -p ${f.path} /old.txt\nls -l /\n`);
    assert.equal(r.code, 0, r.stderr);
    // Listings come from ListObjectsV2, which carries no user metadata: they show the upload time. stat (HeadObject)
    // returns the stored mtime, which is what `get -p` and `ls` of a single file use.
    assert.match(r.stdout, /-rw-r--r-- +1 alice +alice +1000 \w{3} [ \d]\d [ \d:]{5} old\.txt/);
    const one = await h.sftp('alice', 'ls -l /old.txt\n');
    assert.match(one.stdout, /1000 Mar +4 +2021 \/old\.txt/);
    const back = join(h.dir, 'old-back');
    const g = await h.sftp('alice', `get -p /old.txt ${back}\n`);
    assert.equal(g.code, 0, g.stderr);
    const st = await runCommand('stat', ['-c', '%Y', back]);
    assert.equal(Number(st.stdout.trim()), mtime.getTime() / 1000);
  });
});

describe('lftp (second client, over the OpenSSH transport)', () => {
  test('put and get with a password, checksums match', async () => {
    const f = makeFile('lftp-up', 2 * PART + 3);
    const back = join(h.dir, 'lftp-back');
    const script = [
      'set sftp:connect-program "ssh -a -x -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"',
      'set net:max-retries 1',
      `open -u alice,"${PASSWORD}" -p ${h.port} sftp://127.0.0.1`,
      `put ${f.path} -o /lftp.bin`,
      `get /lftp.bin -o ${back}`,
      'cls -1 /',
      'bye',
    ].join('; ');
    const r = await runCommand('lftp', ['-c', script], { allowFailure: true, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /lftp\.bin/);
    assert.equal(await h.sha256Of(`${PREFIX}/alice/lftp.bin`), f.sha);
    assert.equal(sha256(readFileSync(back)), f.sha);
  });
});
