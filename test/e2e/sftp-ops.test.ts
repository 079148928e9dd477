// Every SFTP operation through the real OpenSSH client against real MinIO, including the unsupported ones (clear
// status), permissions, listings over more than one S3 page, and hostile paths: the bucket listing proves nothing
// was written outside the user's prefix.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { UserRecord } from '../../sftp-pod/src/users/types.ts';
import { BUCKET, type Harness, PREFIX, sha256, startHarness } from './sftp-harness.ts';

let h: Harness;
let small: string;
let smallSha: string;

before(async () => {
  h = await startHarness({ args: ['--setstat-mode=Error'] });
  const data = randomBytes(4096);
  small = join(h.dir, 'small');
  writeFileSync(small, data);
  smallSha = sha256(data);
  // alice gets a logical directory (read-only) and a read-only subdirectory.
  const users = h.defaultUsers().map(
    (u): UserRecord =>
      u.username === 'alice'
        ? {
            ...u,
            logicalDirectories: [{ path: '/shared', prefix: 'shared/reports', permissions: ['list', 'download'] }],
            directoryPermissions: [{ path: '/inbox-ro', permissions: ['list', 'download'] }],
          }
        : u,
  );
  h.writeUsers(users);
  const deadline = Date.now() + 15_000;
  while (!h.pod?.users.get('alice')?.logicalDirectories) {
    if (Date.now() > deadline) throw new Error('users file reload not applied');
    await new Promise((r) => setTimeout(r, 100));
  }
  await h.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/shared/reports/r1.csv`, Body: 'a,b\n' }));
});
after(async () => {
  await h?.stop();
});

async function ok(user: string, batch: string) {
  const r = await h.sftp(user, batch);
  assert.equal(r.code, 0, `batch failed:\n${batch}\n${r.stderr}`);
  return r;
}

/** Runs one command that must fail; returns stderr. */
async function fails(user: string, command: string): Promise<string> {
  const r = await h.sftp(user, `${command}\n`);
  assert.notEqual(r.code, 0, `expected failure: ${command}\n${r.stdout}`);
  return r.stderr;
}

describe('file and directory operations', () => {
  test('mkdir, put, ls, rename (posix-rename), cp (copy-data), rm, rmdir, df (statvfs)', async () => {
    const r = await ok(
      'alice',
      [
        'mkdir /ops',
        `put ${small} /ops/a`,
        'rename /ops/a /ops/b',
        'cp /ops/b /ops/c',
        'ls -1 /ops',
        'df -h /',
        'rm /ops/b',
        'rm /ops/c',
        'rmdir /ops',
        'ls -1 /',
      ].join('\n'),
    );
    assert.match(r.stdout, /sftp> ls -1 \/ops\n\/ops\/b\n\/ops\/c\nsftp>/);
    assert.match(r.stdout, /Size +Used +Avail/);
    const keys = await h.listAll();
    assert.ok(!keys.some((k) => k.startsWith(`${PREFIX}/alice/ops`)), keys.join(','));
  });

  test('cp is a server-side copy with identical bytes', async () => {
    await ok('alice', `put ${small} /copy-src\ncp /copy-src /copy-dst\n`);
    assert.equal(await h.sha256Of(`${PREFIX}/alice/copy-dst`), smallSha);
  });

  test('rmdir of a non-empty directory and rm of a directory fail clearly, nothing is deleted', async () => {
    await ok('alice', `mkdir /full\nput ${small} /full/x\n`);
    assert.match(await fails('alice', 'rmdir /full'), /Couldn't remove directory|Failure/i);
    assert.match(await fails('alice', 'rm /full'), /Couldn't delete|Failure|directory/i);
    assert.ok((await h.listAll()).includes(`${PREFIX}/alice/full/x`));
  });

  test('unsupported operations fail with a clear status', async () => {
    await ok('alice', `put ${small} /target`);
    assert.match(await fails('alice', 'ln -s /target /link'), /Operation unsupported/);
    assert.match(await fails('alice', 'ln /target /hard'), /hardlink@openssh\.com|unsupported/i);
    assert.match(await fails('alice', 'chmod 600 /target'), /Operation unsupported/);
    // OpenSSH's chown needs the current owner first; object storage has none, so it stops client-side.
    assert.match(await fails('alice', 'chown 1000 /target'), /Operation unsupported|Can't get current ownership/);
    const longer = join(h.dir, 'longer');
    writeFileSync(longer, Buffer.concat([readFileSync(small), randomBytes(100)]));
    assert.match(await fails('alice', `reput ${longer} /target`), /Operation unsupported/);
    const keys = await h.listAll();
    assert.ok(!keys.some((k) => /\/(link|hard)$/.test(k)), keys.join(','));
    assert.equal(await h.sha256Of(`${PREFIX}/alice/target`), smallSha, 'the failed reput changed nothing');
  });

  test('a listing of more than one S3 page (1100 entries)', async () => {
    const names = Array.from({ length: 1100 }, (_, i) => `f${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 100) {
      await Promise.all(
        names
          .slice(i, i + 100)
          .map((n) => h.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/alice/many/${n}`, Body: '' }))),
      );
    }
    const r = await ok('alice', 'ls -1 /many\n');
    const listed = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('/many/'))
      .map((l) => l.slice('/many/'.length));
    assert.deepEqual(listed.sort(), names);
    // A directory holding more objects than --max-rename-objects (default 1000) is not renamed, and nothing moved.
    assert.match(await fails('alice', 'rename /many /many-renamed'), /Couldn't rename|unsupported|Failure/i);
    const keys = await h.listAll();
    assert.ok(!keys.some((k) => k.includes('many-renamed')));
    assert.equal(keys.filter((k) => k.startsWith(`${PREFIX}/alice/many/`)).length, 1100);
  });

  test('a small directory is renamed with its contents; renaming onto a non-empty directory fails', async () => {
    await ok('alice', `mkdir /d1\nput ${small} /d1/a\nmkdir /d1/sub\nput ${small} /d1/sub/b\nrename /d1 /d2\n`);
    const keys = await h.listAll();
    assert.ok(keys.includes(`${PREFIX}/alice/d2/a`) && keys.includes(`${PREFIX}/alice/d2/sub/b`), keys.join(','));
    assert.ok(!keys.some((k) => k.startsWith(`${PREFIX}/alice/d1/`)));
    assert.equal(await h.sha256Of(`${PREFIX}/alice/d2/sub/b`), smallSha);
    await ok('alice', `mkdir /d3\nput ${small} /d3/c\n`);
    await fails('alice', 'rename /d2 /d3');
    assert.ok((await h.listAll()).includes(`${PREFIX}/alice/d3/c`));
  });
});

describe('permissions', () => {
  test('a read-only user can list and download, not upload, delete, rename or mkdir', async () => {
    await ok('alice', `put ${small} /shared-file`);
    const back = join(h.dir, 'reader-back');
    await ok('reader', `ls /\nget /shared-file ${back}\n`);
    assert.equal(sha256(readFileSync(back)), smallSha);
    assert.match(await fails('reader', `put ${small} /nope`), /Permission denied/);
    assert.match(await fails('reader', 'rm /shared-file'), /Permission denied/);
    assert.match(await fails('reader', 'rename /shared-file /x'), /Permission denied/);
    assert.match(await fails('reader', 'mkdir /d'), /Permission denied/);
    assert.ok((await h.listAll()).includes(`${PREFIX}/alice/shared-file`));
  });

  test('per-directory permissions and a read-only logical directory', async () => {
    assert.match(await fails('alice', `put ${small} /inbox-ro/x`), /Permission denied/);
    const r = await ok('alice', `ls -1 /\nls -1 /shared\nget /shared/r1.csv ${join(h.dir, 'r1')}\n`);
    assert.match(r.stdout, /\/shared\n/);
    assert.match(r.stdout, /\/shared\/r1\.csv/);
    assert.match(await fails('alice', `put ${small} /shared/evil`), /Permission denied/);
    assert.match(await fails('alice', 'rm /shared/r1.csv'), /Permission denied/);
    assert.match(await fails('alice', 'rmdir /shared'), /Permission denied|Failure/);
  });

  test('overwrite needs the overwrite permission (v3 rename never replaces)', async () => {
    await ok('alice', `put ${small} /o1\nput ${small} /o2\n`);
    // OpenSSH's rename uses posix-rename (replaces); plain SFTP rename is covered in sftp-protocol.test.ts.
    await ok('alice', 'rename /o1 /o2');
    const keys = await h.listAll();
    assert.ok(keys.includes(`${PREFIX}/alice/o2`) && !keys.includes(`${PREFIX}/alice/o1`));
  });
});

describe('hostile paths', () => {
  test('.., //, backslashes and sibling prefixes stay inside the home; nothing lands outside it', async () => {
    const before = new Set(await h.listAll());
    const r = await h.sftp(
      'alice',
      [
        `-put ${small} /../../alice2/escape1`,
        `-put ${small} ../alice2/escape2`,
        `-put ${small} //..//..//${PREFIX}/alice2/escape3`,
        `-put ${small} "/..\\\\escape4"`,
        `-put ${small} /./a/../../../escape5`,
        `-mkdir /../alice2-dir`,
        '-ln -s /../alice2 /sneaky',
        `-cp /target /../../alice2/escape6`,
        `-rename /target /../alice2/escape7`,
      ].join('\n'),
    );
    assert.equal(r.code, 0, r.stderr);
    const created = (await h.listAll()).filter((k) => !before.has(k));
    assert.ok(created.length > 0, 'the clamped uploads landed somewhere');
    for (const k of created) assert.ok(k.startsWith(`${PREFIX}/alice/`), `${k} is outside alice's prefix`);
    // Clamped at alice's root: `/../../alice2/escape1` is alice's own `/alice2/escape1`.
    assert.ok(created.includes(`${PREFIX}/alice/alice2/escape1`), created.join(','));
    // A backslash is a literal character: `..\escape4` is one segment (MinIO refuses such a key, so the upload
    // fails with a status; on AWS it would be a file of that name). Either way it is not a way out.
    assert.ok(!created.some((k) => k.startsWith(`${PREFIX}/alice2/`)));
    assert.ok(!created.some((k) => k.includes('sneaky')));
  });

  test('alice2 cannot see or reach alice (whole-segment prefix match)', async () => {
    const r = await ok('alice2', `put ${small} /mine\nls -1 /\nls -1 /..\n`);
    assert.doesNotMatch(r.stdout, /target|shared-file/);
    assert.match(await fails('alice2', 'get /../alice/target /dev/null'), /not found|No such file/i);
    assert.ok((await h.listAll()).includes(`${PREFIX}/alice2/mine`));
  });
});
