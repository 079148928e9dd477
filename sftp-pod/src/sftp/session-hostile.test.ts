// Hostile users against the session: the subtree rule (directory rename/rmdir past per-directory permissions) and
// the name rule (control characters, newlines, backslashes), over the request table with an in-memory store.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OpenFlags, PacketType, Status } from './constants.ts';
import { TestSftpClient } from './testing/client.ts';
import { MemoryStorage } from './testing/memory-storage.ts';
import { startSession } from './testing/start-session.ts';

const W = OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC;
const st = TestSftpClient.status;
const obj = (s: string) => ({ data: Buffer.from(s), mtimeMs: 1_000_000 });

describe('subtree rule', () => {
  test('a read-only directory cannot be renamed away (v3 rename and posix-rename), nothing moves', async () => {
    const storage = new MemoryStorage();
    storage.objects.set('srv/alice/ro/report.csv', obj('precious'));
    const { client, session } = startSession({ storage });
    await client.init();
    for (const [name, req] of [
      ['rename', () => client.request(PacketType.RENAME, (w) => w.string('/ro').string('/x'))],
      [
        'posix-rename',
        () =>
          client.request(PacketType.EXTENDED, (w) => w.string('posix-rename@openssh.com').string('/ro').string('/x')),
      ],
    ] as const) {
      const r = st(await req());
      assert.equal(r.code, Status.PERMISSION_DENIED, name);
      assert.match(r.message, /rename on \/ro/, name);
    }
    const rm = st(await client.pathOp(PacketType.REMOVE, '/x/report.csv'));
    assert.equal(rm.code, Status.NO_SUCH_FILE);
    assert.deepEqual([...storage.objects.keys()], ['srv/alice/ro/report.csv']);
    client.end();
    await session.done;
  });

  test('a directory holding a read-only rule cannot be renamed or removed; files keep the per-entry rule', async () => {
    const storage = new MemoryStorage();
    storage.objects.set('srv/alice/work/locked/a', obj('a'));
    storage.objects.set('srv/alice/f', obj('f'));
    const { client, session } = startSession({
      storage,
      directoryPermissions: [{ path: '/work/locked', permissions: ['list', 'download'] }],
    });
    await client.init();
    const rn = st(await client.request(PacketType.RENAME, (w) => w.string('/work').string('/w2')));
    assert.equal(rn.code, Status.PERMISSION_DENIED);
    assert.match(rn.message, /\/work\/locked/);
    const rd = st(await client.pathOp(PacketType.RMDIR, '/work'));
    assert.equal(rd.code, Status.PERMISSION_DENIED);
    const file = st(await client.request(PacketType.RENAME, (w) => w.string('/f').string('/g')));
    assert.equal(file.code, Status.OK);
    assert.ok(storage.objects.has('srv/alice/work/locked/a'));
    assert.ok(storage.objects.has('srv/alice/g'));
    client.end();
    await session.done;
  });
});

describe('name rule', () => {
  const bad = ['/new\nline', '/tab\there', '/back\\slash', '/esc\x1b[0m', '/bad\ndir/file'];

  test('creating unsafe names is refused by OPEN, MKDIR and both renames, with a clear message', async () => {
    const storage = new MemoryStorage();
    storage.objects.set('srv/alice/src', obj('s'));
    const { client, session } = startSession({ storage });
    await client.init();
    for (const name of bad) {
      const open = await client.open(name, W);
      assert.ok(!Buffer.isBuffer(open), JSON.stringify(name));
      assert.equal(open.code, Status.PERMISSION_DENIED);
      assert.match(open.message, /invalid name/);
      const mkdir = st(await client.request(PacketType.MKDIR, (w) => w.string(name).attrs({})));
      assert.equal(mkdir.code, Status.PERMISSION_DENIED, `mkdir ${JSON.stringify(name)}`);
      const rn = st(await client.request(PacketType.RENAME, (w) => w.string('/src').string(name)));
      assert.equal(rn.code, Status.PERMISSION_DENIED, `rename ${JSON.stringify(name)}`);
      const posix = st(
        await client.request(PacketType.EXTENDED, (w) =>
          w.string('posix-rename@openssh.com').string('/src').string(name),
        ),
      );
      assert.equal(posix.code, Status.PERMISSION_DENIED);
    }
    assert.deepEqual([...storage.objects.keys()], ['srv/alice/src']);
    assert.equal(storage.openSinks.size, 0);
    client.end();
    await session.done;
  });

  test('refusals name a hostile path on one line', async () => {
    const { client, session } = startSession();
    await client.init();
    const rm = st(await client.pathOp(PacketType.REMOVE, '/ro/a\nb'));
    assert.equal(rm.code, Status.PERMISSION_DENIED);
    assert.equal(rm.message, 'permission denied: delete on /ro/a\\nb');
    const rn = st(await client.request(PacketType.RENAME, (w) => w.string('/ro/x\ty').string('/z')));
    assert.equal(rn.code, Status.PERMISSION_DENIED);
    assert.doesNotMatch(rn.message, /\t/);
    client.end();
    await session.done;
  });

  test('unsafeNames Allow lets them be created', async () => {
    const { client, session, storage } = startSession({ unsafeNames: 'Allow' });
    await client.init();
    const h = await client.open('/new\nline', W);
    assert.ok(Buffer.isBuffer(h));
    assert.equal((await client.close(h)).code, Status.OK);
    assert.ok(storage.objects.has('srv/alice/new\nline'));
    client.end();
    await session.done;
  });

  test('existing keys with unsafe names stay listable (escaped long name), readable and deletable', async () => {
    const storage = new MemoryStorage();
    storage.objects.set('srv/alice/in/evil\nname\\x.txt', obj('payload'));
    const { client, session } = startSession({ storage });
    await client.init();
    const dir = await client.pathOp(PacketType.OPENDIR, '/in');
    assert.equal(dir.type, PacketType.HANDLE);
    const handle = Buffer.from(dir.body.bytes());
    const names = await client.request(PacketType.READDIR, (w) => w.bytes(handle));
    assert.equal(names.type, PacketType.NAME);
    assert.equal(names.body.u32(), 1);
    assert.equal(names.body.string(), 'evil\nname\\x.txt', 'the name stays raw');
    const long = names.body.string();
    assert.doesNotMatch(long, /\n/);
    assert.match(long, / evil\\nname\\\\x\.txt$/);
    const rh = await client.open('/in/evil\nname\\x.txt', OpenFlags.READ);
    assert.ok(Buffer.isBuffer(rh));
    const data = await client.read(rh, 0, 100);
    assert.ok(Buffer.isBuffer(data));
    assert.equal(data.toString(), 'payload');
    assert.equal((await client.close(rh)).code, Status.OK);
    const rm = st(await client.pathOp(PacketType.REMOVE, '/in/evil\nname\\x.txt'));
    assert.equal(rm.code, Status.OK);
    assert.equal(storage.objects.size, 0);
    client.end();
    await session.done;
  });
});
