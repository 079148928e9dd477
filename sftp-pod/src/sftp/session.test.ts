import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { duplexPair } from 'node:stream';
import { describe, test } from 'node:test';
import { createPathJail } from '../storage/jail.ts';
import { Writer } from './codec.ts';
import { MAX_MESSAGE_LENGTH, MAX_WRITE_LENGTH, OpenFlags, PacketType, Status } from './constants.ts';
import { SftpSession } from './session.ts';
import { TestSftpClient } from './testing/client.ts';
import { MemoryStorage } from './testing/memory-storage.ts';
import { ALL, startSession } from './testing/start-session.ts';

const start = startSession;

const W = OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC;

async function put(client: TestSftpClient, path: string, data: Buffer) {
  const h = await client.open(path, W);
  assert.ok(Buffer.isBuffer(h), `open ${path}: ${JSON.stringify(h)}`);
  for (let off = 0; off < data.length; off += 32768) {
    assert.equal((await client.write(h, off, data.subarray(off, off + 32768))).code, Status.OK);
  }
  return client.close(h);
}

describe('SFTP session', () => {
  test('an upload whose CLOSE is being answered still counts as open (a shutting-down pod waits for its OK)', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    class SlowCommit extends MemoryStorage {
      override async openWrite(...args: Parameters<MemoryStorage['openWrite']>) {
        const sink = await super.openWrite(...args);
        const commit = sink.commit.bind(sink);
        sink.commit = async (signal) => {
          await gate;
          return commit(signal);
        };
        return sink;
      }
    }
    const { client, session } = start({ storage: new SlowCommit() });
    await client.init();
    const h = await client.open('/slow.bin', W);
    assert.ok(Buffer.isBuffer(h));
    assert.equal((await client.write(h, 0, randomBytes(1000))).code, Status.OK);
    assert.equal(session.openUploads, 1);
    const closed = client.close(h);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(session.openUploads, 1, 'CLOSE in progress: still an open upload');
    release();
    assert.equal((await closed).code, Status.OK);
    assert.equal(session.openUploads, 0, 'answered: no open upload');
    client.end();
    await session.done;
  });

  test('VERSION advertises the OpenSSH extensions and limits allow 256 KiB writes', async () => {
    const { client, session } = start();
    const ext = await client.init();
    for (const e of [
      'posix-rename@openssh.com',
      'statvfs@openssh.com',
      'fsync@openssh.com',
      'limits@openssh.com',
      'copy-data',
    ]) {
      assert.ok(ext.has(e), e);
    }
    const r = await client.request(PacketType.EXTENDED, (w) => w.string('limits@openssh.com'));
    assert.equal(r.type, PacketType.EXTENDED_REPLY);
    const [maxPacket, , maxWrite] = [r.body.u64(), r.body.u64(), r.body.u64()];
    assert.ok(maxWrite >= 256 * 1024);
    assert.ok(maxPacket >= maxWrite);
    client.end();
    await session.done;
  });

  test('upload, stat, read back, list: the object appears only at CLOSE', async () => {
    const { client, storage, session } = start();
    await client.init();
    const data = randomBytes(100_000);
    const h = await client.open('/dir/../a.bin', W);
    assert.ok(Buffer.isBuffer(h));
    assert.equal((await client.write(h, 0, data.subarray(0, 60_000))).code, Status.OK);
    assert.equal((await client.write(h, 60_000, data.subarray(60_000))).code, Status.OK);
    assert.equal(storage.objects.has('srv/alice/a.bin'), false, 'nothing visible before CLOSE');
    assert.equal((await client.close(h)).code, Status.OK);
    assert.deepEqual(storage.objects.get('srv/alice/a.bin')?.data, data);

    const stat = await client.pathOp(PacketType.STAT, 'a.bin');
    assert.equal(stat.type, PacketType.ATTRS);
    stat.body.u32();
    assert.equal(stat.body.u64(), data.length);

    const rh = await client.open('/a.bin', OpenFlags.READ);
    assert.ok(Buffer.isBuffer(rh));
    const got = await client.read(rh, 0, 200_000);
    assert.ok(Buffer.isBuffer(got));
    assert.equal(got.length, data.length);
    const eof = await client.read(rh, data.length, 10);
    assert.equal(Buffer.isBuffer(eof) ? -1 : eof.code, Status.EOF);
    assert.equal((await client.close(rh)).code, Status.OK);
    client.end();
    await session.done;
  });

  test('READDIR pages through more than one listing page and one NAME reply', async () => {
    const { client, storage, session } = start();
    for (let i = 0; i < 250; i++)
      storage.objects.set(`srv/alice/many/f${String(i).padStart(3, '0')}`, { data: Buffer.from('x'), mtimeMs: 0 });
    await client.init();
    const dir = await client.pathOp(PacketType.OPENDIR, '/many');
    assert.equal(dir.type, PacketType.HANDLE);
    const handle = Buffer.from(dir.body.bytes());
    const names: string[] = [];
    for (;;) {
      const r = await client.request(PacketType.READDIR, (w) => w.bytes(handle));
      if (r.type === PacketType.STATUS) {
        assert.equal(TestSftpClient.status(r).code, Status.EOF);
        break;
      }
      const n = r.body.u32();
      for (let i = 0; i < n; i++) {
        names.push(r.body.string());
        assert.match(r.body.string(), /^-rw-r--r-- +1 alice +alice +1 /);
        r.body.attrs();
      }
    }
    assert.equal(names.length, 250);
    assert.equal(new Set(names).size, 250);
    client.end();
    await session.done;
  });

  test('unsupported operations answer OP_UNSUPPORTED with a clear message', async () => {
    const { client, session } = start();
    await client.init();
    await put(client, '/f', Buffer.from('hello'));
    const cases: Array<[string, Promise<{ code: number; message: string }>, RegExp]> = [
      [
        'symlink',
        client.request(PacketType.SYMLINK, (w) => w.string('/l').string('/f')).then(TestSftpClient.status),
        /symbolic links/,
      ],
      ['readlink', client.pathOp(PacketType.READLINK, '/f').then(TestSftpClient.status), /symbolic links/],
      [
        'hardlink',
        client
          .request(PacketType.EXTENDED, (w) => w.string('hardlink@openssh.com').string('/f').string('/g'))
          .then(TestSftpClient.status),
        /hardlink/,
      ],
      [
        'read+write',
        client.open('/f', OpenFlags.READ | OpenFlags.WRITE).then((r) => r as { code: number; message: string }),
        /reading and writing/,
      ],
      [
        'append',
        client
          .open('/f', OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.APPEND)
          .then((r) => r as { code: number; message: string }),
        /append/,
      ],
      [
        'truncate',
        client.request(PacketType.SETSTAT, (w) => w.string('/f').attrs({ size: 1 })).then(TestSftpClient.status),
        /truncate/,
      ],
      [
        'chmod',
        client
          .request(PacketType.SETSTAT, (w) => w.string('/f').attrs({ permissions: 0o600 }))
          .then(TestSftpClient.status),
        /chmod/,
      ],
      [
        'unknown extension',
        client.request(PacketType.EXTENDED, (w) => w.string('nope@example.com')).then(TestSftpClient.status),
        /unsupported extension/,
      ],
      ['unknown type', client.request(99, () => {}).then(TestSftpClient.status), /unsupported SFTP request type 99/],
    ];
    for (const [name, p, re] of cases) {
      const s = await p;
      assert.equal(s.code, Status.OP_UNSUPPORTED, name);
      assert.match(s.message, re, name);
    }
    // chmod to the mode we already report is accepted (what `put -p` of a 0644 file sends).
    const same = await client.request(PacketType.SETSTAT, (w) =>
      w.string('/f').attrs({ permissions: 0o100644, atime: 1, mtime: 1_000_000 }),
    );
    assert.equal(TestSftpClient.status(same).code, Status.OK);
    client.end();
    await session.done;
  });

  test('setstatMode Ignore accepts chmod/chown and still refuses truncate', async () => {
    const { client, session, storage } = start({ setstatMode: 'Ignore' });
    await client.init();
    await put(client, '/f', Buffer.from('hello'));
    const chmod = await client.request(PacketType.SETSTAT, (w) =>
      w.string('/f').attrs({ permissions: 0o600, uid: 5, gid: 5 }),
    );
    assert.equal(TestSftpClient.status(chmod).code, Status.OK);
    const trunc = await client.request(PacketType.SETSTAT, (w) => w.string('/f').attrs({ size: 0 }));
    assert.equal(TestSftpClient.status(trunc).code, Status.OP_UNSUPPORTED);
    const times = await client.request(PacketType.SETSTAT, (w) =>
      w.string('/f').attrs({ atime: 10, mtime: 1_234_567 }),
    );
    assert.equal(TestSftpClient.status(times).code, Status.OK);
    assert.equal(storage.objects.get('srv/alice/f')?.mtimeMs, 1_234_567_000);
    client.end();
    await session.done;
  });

  test('permissions are enforced per directory via the jail', async () => {
    const { client, storage, session } = start();
    storage.objects.set('srv/alice/ro/x', { data: Buffer.from('x'), mtimeMs: 0 });
    await client.init();
    const up = await client.open('/ro/new', W);
    assert.ok(!Buffer.isBuffer(up));
    assert.equal(up.code, Status.PERMISSION_DENIED);
    assert.match(up.message, /upload/);
    const rm = TestSftpClient.status(await client.pathOp(PacketType.REMOVE, '/ro/x'));
    assert.equal(rm.code, Status.PERMISSION_DENIED);
    const root = TestSftpClient.status(await client.pathOp(PacketType.RMDIR, '/'));
    assert.equal(root.code, Status.PERMISSION_DENIED);
    assert.ok(storage.objects.has('srv/alice/ro/x'));
    client.end();
    await session.done;
  });

  test('forged handles, handle cap, rename without overwrite, copy-data', async () => {
    const { client, storage, session } = start({ maxHandles: 2 });
    await client.init();
    const forged = await client.close(Buffer.from('not-a-handle'));
    assert.equal(forged.code, Status.FAILURE);
    assert.match(forged.message, /invalid handle/);
    await put(client, '/a', Buffer.from('A'));
    await put(client, '/b', Buffer.from('B'));
    const h1 = await client.open('/a', OpenFlags.READ);
    const h2 = await client.open('/c', W);
    const h3 = await client.open('/b', OpenFlags.READ);
    assert.ok(Buffer.isBuffer(h1) && Buffer.isBuffer(h2));
    assert.ok(!Buffer.isBuffer(h3) && /too many open handles/.test(h3.message));
    const copy = await client.request(PacketType.EXTENDED, (w) =>
      w.string('copy-data').bytes(h1).u64(0).u64(0).bytes(h2).u64(0),
    );
    assert.equal(TestSftpClient.status(copy).code, Status.OK);
    assert.equal((await client.close(h2)).code, Status.OK);
    assert.equal((await client.close(h1)).code, Status.OK);
    assert.equal(storage.objects.get('srv/alice/c')?.data.toString(), 'A');

    const rn = TestSftpClient.status(await client.request(PacketType.RENAME, (w) => w.string('/a').string('/b')));
    assert.equal(rn.code, Status.FAILURE);
    const posix = await client.request(PacketType.EXTENDED, (w) =>
      w.string('posix-rename@openssh.com').string('/a').string('/b'),
    );
    assert.equal(TestSftpClient.status(posix).code, Status.OK);
    assert.equal(storage.objects.get('srv/alice/b')?.data.toString(), 'A');
    client.end();
    await session.done;
  });

  test('malformed requests get BAD_MESSAGE and the session survives', async () => {
    const { client, session } = start();
    await client.init();
    // OPEN with a string length running past the packet end.
    const bad = new Writer(PacketType.OPEN).u32(7).u32(1000).finish();
    const reply = client.request(PacketType.STAT, (w) => w.string('/'));
    client.sendRaw(bad);
    // Trailing garbage after a complete request.
    const trailing = await client.request(PacketType.STAT, (w) => w.string('/').u32(5));
    assert.equal(TestSftpClient.status(trailing).code, Status.BAD_MESSAGE);
    assert.equal((await reply).type, PacketType.ATTRS);
    // Invalid UTF-8 and NUL in paths are refused by the jail.
    const nul = await client.request(PacketType.STAT, (w) => w.bytes(Buffer.from('/a\0b')));
    assert.notEqual(nul.type, PacketType.ATTRS);
    const utf = await client.request(PacketType.STAT, (w) => w.bytes(Buffer.from([0x2f, 0xff, 0xfe])));
    assert.notEqual(utf.type, PacketType.ATTRS);
    assert.equal(client.ended, false);
    client.end();
    await session.done;
  });

  for (const [name, send] of [
    ['request before INIT', (c: TestSftpClient) => c.sendRaw(new Writer(PacketType.STAT).u32(1).string('/').finish())],
    [
      'duplicate INIT',
      (c: TestSftpClient) => {
        c.sendRaw(new Writer(PacketType.INIT).u32(3).finish());
        c.sendRaw(new Writer(PacketType.INIT).u32(3).finish());
      },
    ],
    [
      'message over the limit',
      (c: TestSftpClient) => {
        c.sendRaw(new Writer(PacketType.INIT).u32(3).finish());
        const head = Buffer.alloc(9);
        head.writeUInt32BE(MAX_MESSAGE_LENGTH + 1, 0);
        c.sendRaw(head);
      },
    ],
    [
      'zero-length packet',
      (c: TestSftpClient) => {
        c.sendRaw(new Writer(PacketType.INIT).u32(3).finish());
        c.sendRaw(Buffer.alloc(4));
      },
    ],
  ] as const) {
    test(`${name} closes the session`, async () => {
      const { client, session } = start();
      send(client);
      await session.done;
      await client.closed;
    });
  }

  test('a write of exactly the advertised maximum is accepted', async () => {
    const { client, storage, session } = start();
    await client.init();
    const data = randomBytes(MAX_WRITE_LENGTH);
    const h = await client.open('/max', W);
    assert.ok(Buffer.isBuffer(h));
    assert.equal((await client.write(h, 0, data)).code, Status.OK);
    assert.equal((await client.close(h)).code, Status.OK);
    assert.equal(storage.objects.get('srv/alice/max')?.data.length, MAX_WRITE_LENGTH);
    client.end();
    await session.done;
  });

  test('client EOF with an upload open aborts it: no object, no open sink', async () => {
    const { client, storage, session } = start();
    await client.init();
    const h = await client.open('/partial', W);
    assert.ok(Buffer.isBuffer(h));
    await client.write(h, 0, Buffer.from('half'));
    client.end();
    await session.done;
    await client.closed;
    assert.equal(storage.objects.has('srv/alice/partial'), false);
    assert.equal(storage.openSinks.size, 0);
  });
});

describe('codec fuzzer', () => {
  // Deterministic PRNG so a failure is reproducible from the seed printed in the assertion.
  function prng(seed: number) {
    let s = seed >>> 0;
    return () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }

  const TYPES = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 200, 0, 1, 2, 255];

  function valid(rand: () => number, handles: Buffer[]): Buffer {
    const t = TYPES[Math.floor(rand() * TYPES.length)] ?? 3;
    // Ids far above the test client's own, so a fuzz reply never answers the final ping.
    const w = new Writer(t).u32(1_000_000 + Math.floor(rand() * 1000));
    const h = handles[Math.floor(rand() * handles.length)] ?? randomBytes(12);
    const path = ['/', '/a', '/../../x', '/d/e', 'f', '/ro/x', '//a//b/'][Math.floor(rand() * 7)] ?? '/';
    switch (t) {
      case 3:
        w.string(path)
          .u32(Math.floor(rand() * 64))
          .attrs({});
        break;
      case 5:
        w.bytes(h)
          .u64(Math.floor(rand() * 1000))
          .u32(Math.floor(rand() * 70000));
        break;
      case 6:
        w.bytes(h)
          .u64(Math.floor(rand() * 1000))
          .bytes(randomBytes(Math.floor(rand() * 100)));
        break;
      case 4:
      case 8:
      case 12:
        w.bytes(h);
        break;
      case 200:
        w.string(
          ['posix-rename@openssh.com', 'statvfs@openssh.com', 'copy-data', 'limits@openssh.com', 'x'][
            Math.floor(rand() * 5)
          ] ?? 'x',
        )
          .string(path)
          .string(path);
        break;
      default:
        w.string(path).string(path);
    }
    return w.finish();
  }

  function mutate(rand: () => number, buf: Buffer): Buffer {
    const b = Buffer.from(buf);
    const kind = Math.floor(rand() * 4);
    if (kind === 0 && b.length > 5) b[4 + Math.floor(rand() * (b.length - 4))] = Math.floor(rand() * 256);
    if (kind === 1 && b.length > 6) {
      // Truncate the body but fix the length so framing stays intact: a malformed request, not a framing error.
      const cut = 5 + Math.floor(rand() * (b.length - 5));
      const out = b.subarray(0, cut);
      out.writeUInt32BE(cut - 4, 0);
      return out;
    }
    if (kind === 2) return Buffer.concat([b, randomBytes(Math.floor(rand() * 20))]).fill(0, 0, 0);
    return b;
  }

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`seed ${seed}: 400 random and mutated packets, no crash, no leak`, async () => {
      const storage = new MemoryStorage();
      storage.objects.set('srv/alice/a', { data: randomBytes(5000), mtimeMs: 0 });
      const { client, session } = start({ storage });
      await client.init();
      const rand = prng(seed);
      const handles: Buffer[] = [];
      for (const path of ['/a', '/a']) {
        const h = await client.open(path, OpenFlags.READ);
        if (Buffer.isBuffer(h)) handles.push(h);
      }
      const w = await client.open('/w', W);
      if (Buffer.isBuffer(w)) handles.push(w);
      for (let i = 0; i < 400 && !client.ended; i++) {
        let p = valid(rand, handles);
        if (rand() < 0.6) p = mutate(rand, p);
        // Keep the frame length consistent: framing errors close the session and are tested below.
        p.writeUInt32BE(p.length - 4, 0);
        client.sendRaw(p);
      }
      // A final request proves the session is alive, unless a framing error closed it (also a valid outcome).
      if (!client.ended) {
        const ping = await Promise.race([client.pathOp(PacketType.REALPATH, '.'), client.closed.then(() => undefined)]);
        if (ping) assert.equal(ping.type, PacketType.NAME, `seed ${seed}`);
      }
      client.end();
      await session.done;
      assert.equal(storage.openSinks.size, 0, `seed ${seed}: sinks leaked`);
      assert.equal(storage.openSources.size, 0, `seed ${seed}: sources leaked`);
      assert.equal(session.openHandles, 0);
    });
  }

  test('random bytes after INIT: the session closes or answers, and releases everything', async () => {
    for (let i = 0; i < 20; i++) {
      const storage = new MemoryStorage();
      const { client, session } = start({ storage });
      await client.init();
      const h = await client.open('/w', W);
      assert.ok(Buffer.isBuffer(h));
      client.sendRaw(randomBytes(1 + ((i * 97) % 3000)));
      client.end();
      await session.done;
      assert.equal(storage.openSinks.size, 0);
      assert.equal(session.openHandles, 0);
    }
  });
});

describe('bandwidth', () => {
  test('per-user upload and download limits pace the session (never faster than the rate)', async () => {
    const storage = new MemoryStorage();
    const [ours, theirs] = duplexPair();
    const session = new SftpSession(ours, {
      storage,
      jail: createPathJail('srv', { home: 'alice', permissions: ALL }),
      username: 'alice',
      sessionId: 's',
      setstatMode: 'Error',
      uploadBytesPerSecond: 200_000,
      downloadBytesPerSecond: 400_000,
    });
    const client = new TestSftpClient(theirs);
    await client.init();
    const data = randomBytes(600_000);
    const t0 = performance.now();
    assert.equal((await put(client, '/paced', data)).code, Status.OK);
    const upMs = performance.now() - t0;
    // One second of burst is free, the remaining 400 kB at 200 kB/s take at least ~2 s.
    assert.ok(upMs >= 1800, `upload took ${Math.round(upMs)} ms`);
    const h = await client.open('/paced', OpenFlags.READ);
    assert.ok(Buffer.isBuffer(h));
    await new Promise((r) => setTimeout(r, 1000));
    const t1 = performance.now();
    for (let off = 0; off < data.length; off += 32768) await client.read(h, off, 32768);
    const downMs = performance.now() - t1;
    assert.ok(downMs >= 400, `download took ${Math.round(downMs)} ms`);
    client.end();
    await session.done;
  });
  test('a DATA reply reaches the channel as one corked write of header and payload (ssh2 packs them into packets)', async () => {
    const storage = new MemoryStorage();
    const [ours, theirs] = duplexPair();
    // Record what reaches the channel together; delivered chunk by chunk as before.
    const raw = ours as unknown as {
      _write(chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void): void;
      _writev?(chunks: { chunk: Buffer; encoding: BufferEncoding }[], cb: (err?: Error | null) => void): void;
    };
    const batches: number[][] = [];
    const write = raw._write.bind(ours);
    raw._writev = (chunks, cb) => {
      batches.push(chunks.map((c) => c.chunk.length));
      let i = 0;
      const next = (err?: Error | null): void => {
        const c = chunks[i++];
        if (err || !c) cb(err);
        else write(c.chunk, c.encoding, next);
      };
      next();
    };
    const jail = createPathJail('srv', { home: 'alice', permissions: ALL, directoryPermissions: [] });
    const session = new SftpSession(ours, { storage, jail, username: 'alice', sessionId: 's1', setstatMode: 'Error' });
    const client = new TestSftpClient(theirs);
    await client.init();
    const data = randomBytes(100_000);
    assert.equal((await put(client, '/d.bin', data)).code, Status.OK);
    const rh = await client.open('/d.bin', OpenFlags.READ);
    assert.ok(Buffer.isBuffer(rh));
    batches.length = 0;
    const got = await client.read(rh, 0, 65536);
    assert.deepEqual(got, data.subarray(0, 65536));
    assert.deepEqual(batches, [[13, 65536]]);
    client.end();
    await session.done;
  });
});
