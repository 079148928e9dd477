import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PERMISSIONS } from '../../../common/src/users/permission.ts';
import { WRITE_PERMISSIONS } from './access.ts';
import { OpenFlags, PacketType, Status } from './constants.ts';
import type { Handler, Needs } from './handler.ts';
import { extensionHandler, HANDLERS, requestHandler } from './handler-table.ts';
import { ANNOUNCED_EXTENSIONS } from './replies.ts';
import { TestSftpClient } from './testing/client.ts';
import { MemoryStorage } from './testing/memory-storage.ts';
import { startSession } from './testing/start-session.ts';

/** SFTP v3 requests (draft-ietf-secsh-filexfer-02 section 3) other than INIT, which the session itself answers. */
const V3_REQUESTS = [
  PacketType.OPEN,
  PacketType.CLOSE,
  PacketType.READ,
  PacketType.WRITE,
  PacketType.LSTAT,
  PacketType.FSTAT,
  PacketType.SETSTAT,
  PacketType.FSETSTAT,
  PacketType.OPENDIR,
  PacketType.READDIR,
  PacketType.REMOVE,
  PacketType.MKDIR,
  PacketType.RMDIR,
  PacketType.REALPATH,
  PacketType.STAT,
  PacketType.RENAME,
  PacketType.READLINK,
  PacketType.SYMLINK,
];

function allNeeds(h: Handler): Needs[] {
  return 'writes' in h.needs ? [h.needs] : [h.needs.read, h.needs.write];
}

function permissionsOf(n: Needs) {
  return [...(n.paths ?? []), ...(n.handles ?? [])].flatMap((x) => (x.permission ? [x.permission] : []));
}

describe('handler table', () => {
  test('every SFTP v3 request type has exactly one entry', () => {
    for (const type of V3_REQUESTS) {
      const entries = HANDLERS.filter((h) => h.type === type);
      assert.equal(entries.length, 1, `type ${type}`);
      assert.equal(requestHandler(type), entries[0]);
    }
    const numeric = HANDLERS.filter((h) => typeof h.type === 'number').map((h) => h.type);
    assert.deepEqual(new Set(numeric), new Set(V3_REQUESTS), 'no entry for a type that is not a request');
    assert.equal(requestHandler(PacketType.INIT), undefined);
    assert.equal(requestHandler(PacketType.EXTENDED), undefined);
  });

  test('every announced extension has exactly one entry', () => {
    // check-file is announced once and requested as check-file-handle and check-file-name (the draft's names).
    const requested = (name: string) => (name === 'check-file' ? [`${name}-handle`, `${name}-name`] : [name]);
    for (const name of ANNOUNCED_EXTENSIONS.flatMap(([n]) => requested(n))) {
      assert.equal(HANDLERS.filter((h) => h.type === name).length, 1, name);
      assert.ok(extensionHandler(name), name);
    }
    assert.equal(extensionHandler('nope@example.com'), undefined);
  });

  test('op labels are unique, bounded and extension labels start with ext:', () => {
    const ops = HANDLERS.map((h) => h.op);
    assert.equal(new Set(ops).size, ops.length);
    for (const h of HANDLERS) {
      assert.match(h.op, typeof h.type === 'string' ? /^ext:[a-z0-9@.-]+$/ : /^[a-z]+$/, h.op);
    }
  });

  test('an entry that writes needs a writing permission or a write handle; one that reads needs none', () => {
    for (const h of HANDLERS) {
      for (const n of allNeeds(h)) {
        const writing = permissionsOf(n).filter((p) => WRITE_PERMISSIONS.has(p));
        const writeHandle = (n.handles ?? []).some((x) => x.kind === 'write');
        if (n.writes && h.unsupported === undefined) {
          assert.ok(writing.length > 0 || writeHandle, `${h.op} writes without a writing permission`);
        }
        if (!n.writes) assert.deepEqual(writing, [], `${h.op} does not write but needs ${writing}`);
        if (n.subtree) assert.ok(n.writes, `${h.op}: a subtree operation writes`);
        for (const p of permissionsOf(n)) assert.ok(PERMISSIONS.includes(p));
      }
    }
  });

  test('every entry that creates a name is a writing one', () => {
    for (const h of HANDLERS) {
      for (const n of allNeeds(h)) {
        if ((n.paths ?? []).some((p) => p.creates)) assert.ok(n.writes, h.op);
      }
    }
  });
});

// One request per writing entry (keyed by op label), sent by a user who may only list and download. A new writing
// entry without a sample here fails the first assertion, so the refusal is proven for every one.
type Sample = (c: TestSftpClient, h: { read: Buffer }) => Promise<{ code: number; message: string }>;
const st = TestSftpClient.status;
const WRITING_SAMPLES: Record<string, Sample> = {
  open: async (c) => {
    const r = await c.open('/new', OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC);
    return Buffer.isBuffer(r) ? { code: Status.OK, message: 'opened' } : r;
  },
  write: (c, h) => c.write(h.read, 0, Buffer.from('x')),
  setstat: async (c) => st(await c.request(PacketType.SETSTAT, (w) => w.string('/f').attrs({ atime: 1, mtime: 2 }))),
  fsetstat: async (c, h) =>
    st(await c.request(PacketType.FSETSTAT, (w) => w.bytes(h.read).attrs({ atime: 1, mtime: 2 }))),
  remove: async (c) => st(await c.pathOp(PacketType.REMOVE, '/f')),
  mkdir: async (c) => st(await c.request(PacketType.MKDIR, (w) => w.string('/d2').attrs({}))),
  rmdir: async (c) => st(await c.pathOp(PacketType.RMDIR, '/d')),
  rename: async (c) => st(await c.request(PacketType.RENAME, (w) => w.string('/f').string('/g'))),
  symlink: async (c) => st(await c.request(PacketType.SYMLINK, (w) => w.string('/l').string('/f'))),
  'ext:posix-rename@openssh.com': async (c) =>
    st(await c.request(PacketType.EXTENDED, (w) => w.string('posix-rename@openssh.com').string('/d').string('/e'))),
  'ext:copy-data': async (c, h) =>
    st(
      await c.request(PacketType.EXTENDED, (w) =>
        w.string('copy-data').bytes(h.read).u64(0).u64(0).bytes(h.read).u64(0),
      ),
    ),
  'ext:hardlink@openssh.com': async (c) =>
    st(await c.request(PacketType.EXTENDED, (w) => w.string('hardlink@openssh.com').string('/f').string('/h'))),
};

describe('a read-only user against every writing entry', () => {
  test('each is refused and nothing in the store changes', async () => {
    const storage = new MemoryStorage();
    storage.objects.set('srv/alice/f', { data: Buffer.from('keep'), mtimeMs: 5000 });
    storage.objects.set('srv/alice/d/', { data: Buffer.alloc(0), mtimeMs: 5000 });
    const before = JSON.stringify([...storage.objects]);
    const { client, session } = startSession({ storage, permissions: ['list', 'download'] });
    await client.init();
    const read = await client.open('/f', OpenFlags.READ);
    assert.ok(Buffer.isBuffer(read));
    const writing = HANDLERS.filter((h) => allNeeds(h).some((n) => n.writes));
    assert.ok(writing.length >= 10);
    for (const h of writing) {
      const sample = WRITING_SAMPLES[h.op];
      assert.ok(sample, `no read-only sample for writing entry ${h.op}`);
      const r = await sample(client, { read });
      const expected =
        h.unsupported !== undefined
          ? Status.OP_UNSUPPORTED
          : allNeeds(h).some((n) => n.writes && permissionsOf(n).length > 0)
            ? Status.PERMISSION_DENIED
            : Status.FAILURE; // a write handle is needed, and a read-only user can only hold read handles
      assert.equal(r.code, expected, `${h.op}: ${r.message}`);
    }
    assert.equal((await client.close(read)).code, Status.OK);
    assert.equal(JSON.stringify([...storage.objects]), before);
    assert.equal(storage.openSinks.size, 0);
    client.end();
    await session.done;
  });
});

describe('request framing through the table', () => {
  test('requests are counted under the op label of their entry; unknown ones under bounded labels', async () => {
    const seen: string[] = [];
    const metrics = {
      request: (op: string, status: string) => void seen.push(`${op}:${status}`),
      transfer: () => {},
      addTransferBytes: () => {},
      backpressurePause: () => {},
    };
    const { client, session } = startSession({ metrics });
    await client.init();
    await client.pathOp(PacketType.STAT, '/');
    await client.pathOp(PacketType.REMOVE, '/missing');
    await client.request(PacketType.EXTENDED, (w) => w.string('limits@openssh.com'));
    await client.request(PacketType.EXTENDED, (w) => w.string('nope@example.com'));
    await client.request(PacketType.EXTENDED, (w) => w.u32(1000));
    await client.request(99, () => {});
    assert.deepEqual(seen, [
      'stat:ok',
      'remove:no_such_file',
      'ext:limits@openssh.com:ok',
      'ext:unknown:op_unsupported',
      'extended:bad_message',
      'unknown:op_unsupported',
    ]);
    client.end();
    await session.done;
  });

  test('an unknown extension name that is not label-safe is not echoed', async () => {
    const { client, session } = startSession();
    await client.init();
    const r = st(await client.request(PacketType.EXTENDED, (w) => w.string('bad\nname')));
    assert.equal(r.code, Status.OP_UNSUPPORTED);
    assert.equal(r.message, 'unsupported extension');
    const trunc = await client.request(PacketType.EXTENDED, (w) => w.u32(1000));
    assert.equal(st(trunc).code, Status.BAD_MESSAGE);
    client.end();
    await session.done;
  });

  test('the decoder runs before the checks: a malformed request is BAD_MESSAGE even when it would be refused', async () => {
    const { client, session } = startSession({ permissions: ['list'] });
    await client.init();
    const r = await client.request(PacketType.REMOVE, (w) => w.string('/f').u32(1));
    assert.equal(st(r).code, Status.BAD_MESSAGE);
    client.end();
    await session.done;
  });
});
