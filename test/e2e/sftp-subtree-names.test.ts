// Hostile users against the pod + real MinIO: the subtree rule (a read-only directory renamed away and then deleted
// — the attack reported against directoryPermissions) and the name rule (control characters, newlines and
// backslashes refused when creating; existing keys with them still listable, readable and deletable). OpenSSH's
// sftp where it can express the request, raw packets over a real SSH channel where it cannot (newlines in names).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { OpenFlags, PacketType, Status } from '../../sftp-pod/src/sftp/constants.ts';
import { TestSftpClient } from '../../sftp-pod/src/sftp/testing/client.ts';
import { openRawSession, type RawSession } from '../../sftp-pod/src/sftp/testing/raw-session.ts';
import { ALL_PERMISSIONS, BUCKET, type Harness, PREFIX, sha256, startHarness } from './sftp-harness.ts';

const USER = 'stranger';
const HOME = `${PREFIX}/mallory`;
const W = OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC;
const st = TestSftpClient.status;
let h: Harness;
let small: string;

before(async () => {
  // The bin, as issue-level attacks are proven against the packaged pod.
  h = await startHarness({
    bin: true,
    users: (keys) => [
      {
        username: USER,
        home: 'mallory',
        publicKeys: [keys[USER]?.publicLine ?? ''],
        permissions: [...ALL_PERMISSIONS],
        directoryPermissions: [
          { path: '/ro', permissions: ['list', 'download'] },
          { path: '/work/locked', permissions: ['list', 'download'] },
        ],
      },
    ],
  });
  small = join(h.dir, 'small');
  writeFileSync(small, randomBytes(2048));
});
after(async () => {
  await h?.stop();
});

async function putDirect(key: string, body: Buffer): Promise<string> {
  await h.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  return sha256(body);
}

async function raw(): Promise<RawSession> {
  const s = await openRawSession({ port: h.port, username: USER, keyFile: h.keys[USER]?.file ?? '' });
  await s.sftp.init();
  return s;
}

const under = async (prefix: string) => (await h.listAll()).filter((k) => k.startsWith(prefix)).sort();
const outsideHome = async () => (await h.listAll()).filter((k) => !k.startsWith(`${HOME}/`)).sort();

describe('subtree rule', () => {
  test('a read-only /ro cannot be renamed to /x and deleted there: the object survives unchanged', async () => {
    await putDirect(`${PREFIX}/alice/neighbour.bin`, randomBytes(100));
    const others = await outsideHome();
    const sha = await putDirect(`${HOME}/ro/report.csv`, randomBytes(10_000));
    // The attack as reported, with OpenSSH (its rename is posix-rename@openssh.com).
    const r = await h.sftp(USER, ['-rename /ro /x', '-rm /x/report.csv', '-rm /ro/report.csv', 'ls -1 /ro'].join('\n'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /rename (file )?"\/ro" to "\/x": Permission denied/);
    assert.match(r.stderr, /delete (file )?"?\/ro\/report\.csv"?: Permission denied/);
    assert.match(r.stdout, /\/ro\/report\.csv/);
    // The same with SFTP v3 RENAME (never replaces) over raw packets.
    const s = await raw();
    try {
      const v3 = st(await s.sftp.request(PacketType.RENAME, (w) => w.string('/ro').string('/x')));
      assert.equal(v3.code, Status.PERMISSION_DENIED);
      assert.match(v3.message, /rename on \/ro/);
      const rmdir = st(await s.sftp.pathOp(PacketType.RMDIR, '/ro'));
      assert.notEqual(rmdir.code, Status.OK);
    } finally {
      s.close();
    }
    assert.deepEqual(await under(`${HOME}/`), [`${HOME}/ro/report.csv`]);
    assert.equal(await h.sha256Of(`${HOME}/ro/report.csv`), sha);
    assert.deepEqual(await outsideHome(), others, 'nothing outside the home changed');
  });

  test('a directory holding a read-only rule is not renamed; a plain directory still is, with its contents', async () => {
    const sha = await putDirect(`${HOME}/work/locked/a.bin`, randomBytes(4096));
    await putDirect(`${HOME}/work/free/b.bin`, randomBytes(4096));
    const r = await h.sftp(
      USER,
      ['-rename /work /w2', `mkdir /plain`, `put ${small} /plain/f`, 'rename /plain /plain2'].join('\n'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /rename (file )?"\/work" to "\/w2": Permission denied/);
    const keys = await under(`${HOME}/`);
    assert.ok(keys.includes(`${HOME}/work/locked/a.bin`) && keys.includes(`${HOME}/work/free/b.bin`), keys.join());
    assert.ok(!keys.some((k) => k.startsWith(`${HOME}/w2`)), keys.join());
    assert.ok(keys.includes(`${HOME}/plain2/f`) && !keys.some((k) => k.startsWith(`${HOME}/plain/`)), keys.join());
    assert.equal(await h.sha256Of(`${HOME}/work/locked/a.bin`), sha);
  });
});

describe('name rule', () => {
  test('creating names with control characters or backslashes is refused (OpenSSH and raw), nothing is created', async () => {
    const before = new Set(await h.listAll());
    // A literal tab inside a quoted batch argument reaches the server as is.
    const r = await h.sftp(
      USER,
      [`-put ${small} "/tab\there"`, '-mkdir "/dir\tx"', `put ${small} /plain-name`].join('\n'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Permission denied/);
    const s = await raw();
    try {
      for (const name of ['/new\nline', '/esc\x1b[2J', '/back\\slash', '/bad\ndir/file']) {
        const open = await s.sftp.open(name, W);
        assert.ok(!Buffer.isBuffer(open), JSON.stringify(name));
        assert.equal(open.code, Status.PERMISSION_DENIED);
        assert.match(open.message, /^invalid name: /);
        const mkdir = st(await s.sftp.request(PacketType.MKDIR, (w) => w.string(name).attrs({})));
        assert.equal(mkdir.code, Status.PERMISSION_DENIED);
        const rn = st(await s.sftp.request(PacketType.RENAME, (w) => w.string('/plain-name').string(name)));
        assert.equal(rn.code, Status.PERMISSION_DENIED);
      }
    } finally {
      s.close();
    }
    const created = (await h.listAll()).filter((k) => !before.has(k));
    assert.deepEqual(created, [`${HOME}/plain-name`]);
  });

  test('existing keys with such names stay listable (escaped long name), readable and deletable', async () => {
    const evil = `${HOME}/in/evil\nname.txt`;
    const tab = `${HOME}/in/tab\there.txt`;
    const body = randomBytes(3000);
    const sha = await putDirect(evil, body);
    await putDirect(tab, Buffer.from('t'));
    // OpenSSH lists them, one line per entry (a raw newline in the long name would split one in two).
    const ls = await h.sftp(USER, 'ls -l /in\n');
    assert.equal(ls.code, 0, ls.stderr);
    const lines = ls.stdout.split('\n').filter((l) => /^-rw/.test(l));
    assert.equal(lines.length, 2, ls.stdout);
    const s = await raw();
    try {
      const dir = await s.sftp.pathOp(PacketType.OPENDIR, '/in');
      assert.equal(dir.type, PacketType.HANDLE);
      const handle = Buffer.from(dir.body.bytes());
      const names = await s.sftp.request(PacketType.READDIR, (w) => w.bytes(handle));
      assert.equal(names.type, PacketType.NAME);
      const seen = new Map<string, string>();
      for (let n = names.body.u32(); n > 0; n--) {
        const name = names.body.string();
        seen.set(name, names.body.string());
        names.body.attrs();
      }
      assert.match(seen.get('evil\nname.txt') ?? '', / evil\\nname\.txt$/);
      assert.match(seen.get('tab\there.txt') ?? '', / tab\\there\.txt$/);
      const rh = await s.sftp.open('/in/evil\nname.txt', OpenFlags.READ);
      assert.ok(Buffer.isBuffer(rh));
      const got = await s.sftp.read(rh, 0, 10_000);
      assert.ok(Buffer.isBuffer(got));
      assert.equal(sha256(got), sha);
      assert.equal((await s.sftp.close(rh)).code, Status.OK);
      // Renaming to a safe name is allowed (only the target is a created name).
      const rn = st(
        await s.sftp.request(PacketType.RENAME, (w) => w.string('/in/tab\there.txt').string('/in/tab.txt')),
      );
      assert.equal(rn.code, Status.OK);
      assert.equal(st(await s.sftp.pathOp(PacketType.REMOVE, '/in/evil\nname.txt')).code, Status.OK);
    } finally {
      s.close();
    }
    assert.deepEqual(await under(`${HOME}/in/`), [`${HOME}/in/tab.txt`]);
  });
});
