// The storage contract: one suite, a function of a factory, run against every Storage implementation: S3Storage on a
// real MinIO (storage-contract.test.ts) and the MemoryStorage behind the SFTP layer's unit tests
// (storage-contract-memory.test.ts). The suite asserts through the backend's own view (SHA-256 of GetObject, the
// bucket listing, ListMultipartUploads for S3), never through the implementation under test alone.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type StorageErrorCode as Code, isStorageError, StorageErrorCode } from '../../sftp-pod/src/storage/errors.ts';
import type { FileInfo, Storage, WriteSink } from '../../sftp-pod/src/storage/types.ts';

const MiB = 1024 * 1024;
export const PART = 5 * MiB;

/** What the contract needs from a backend besides the Storage itself: ground truth read around it. */
export interface ContractBackend {
  readonly storage: Storage;
  /** A storage over the same data with listings paged by `pageSize` entries. */
  readonly pagedStorage: (pageSize: number) => Storage;
  /** Object bytes read directly from the backend, or undefined when absent. */
  readonly objectBytes: (key: string) => Promise<Buffer | undefined>;
  readonly objectMetadata: (key: string) => Promise<Record<string, string> | undefined>;
  /** Every key under a prefix, straight from the backend. */
  readonly keys: (prefix: string) => Promise<string[]>;
  /** Multipart uploads in progress under a prefix. */
  readonly pendingUploads: (prefix: string) => Promise<number>;
  /** Puts an object directly (bypassing the Storage). */
  readonly putRaw: (key: string, body: Uint8Array) => Promise<void>;
  readonly partSize: number;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const rejectsWith = (code: Code) => (err: unknown) => {
  assert.ok(isStorageError(err, code), `expected ${code}, got ${String(err)}`);
  return true;
};

async function writeAll(sink: WriteSink, data: Uint8Array, chunk = 256 * 1024): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) await sink.write(off, data.subarray(off, off + chunk));
}

async function readAll(storage: Storage, key: string, chunk = 200 * 1024): Promise<Buffer> {
  const src = await storage.openRead(key);
  const out: Uint8Array[] = [];
  try {
    for (let off = 0; ; ) {
      const b = await src.read(off, chunk);
      if (b.length === 0) break;
      out.push(b);
      off += b.length;
    }
  } finally {
    await src.close();
  }
  return Buffer.concat(out);
}

async function listAll(storage: Storage, dir: string): Promise<{ pages: number; entries: FileInfo[] }> {
  let pages = 0;
  const entries: FileInfo[] = [];
  for await (const page of storage.list(dir)) {
    pages++;
    entries.push(...page);
  }
  return { pages, entries };
}

const W = { overwrite: false, user: 'alice', sessionId: 'sess-1' };
const WO = { ...W, overwrite: true };

/** The contract, for any backend. `root` is a fresh key prefix per run. */
export function storageContract(name: string, setup: () => Promise<ContractBackend>, teardown: () => Promise<void>) {
  describe(`storage contract: ${name}`, () => {
    let b: ContractBackend;
    before(async () => {
      b = await setup();
    });
    after(teardown);

    const upload = async (key: string, data: Uint8Array, opts = W) => {
      const sink = await b.storage.openWrite(key, opts);
      await writeAll(sink, data);
      await sink.commit();
    };

    describe('round trips (SHA-256 through the backend API and through openRead)', () => {
      const sizes: [string, number][] = [
        ['0 bytes', 0],
        ['1 byte', 1],
        ['part-1', PART - 1],
        ['part', PART],
        ['part+1', PART + 1],
        ['~3 parts', 3 * PART - 12345],
      ];
      for (const [label, size] of sizes) {
        test(label, async () => {
          const key = `rt/${size}`;
          const data = randomBytes(size);
          await upload(key, data);
          const stored = await b.objectBytes(key);
          assert.ok(stored, 'object exists');
          assert.equal(stored.length, size);
          assert.equal(sha256(stored), sha256(data));
          assert.equal(sha256(await readAll(b.storage, key)), sha256(data));
          const info = await b.storage.stat(key);
          assert.equal(info.kind, 'file');
          assert.equal(info.size, size);
          assert.equal(await b.pendingUploads('rt/'), 0);
        });
      }

      test('metadata carries mtime, user and session', async () => {
        const sink = await b.storage.openWrite('meta/f', W);
        await sink.write(0, Buffer.from('x'));
        sink.setTimes(1_600_000_000_000, 1_500_000_000_000);
        await sink.commit();
        const md = await b.objectMetadata('meta/f');
        assert.equal(md?.['sftpgate-user'], 'alice');
        assert.equal(md?.['sftpgate-session'], 'sess-1');
        assert.equal(md?.['mtime'], '1500000000.000');
        const info = await b.storage.stat('meta/f');
        assert.equal(info.mtimeMs, 1_500_000_000_000);
        assert.equal(info.atimeMs, 1_600_000_000_000);
      });

      test('times set on a multipart upload after its parts started are kept', async () => {
        const data = randomBytes(PART + 10);
        const sink = await b.storage.openWrite('meta/big', W);
        await writeAll(sink, data);
        sink.setTimes(1_400_000_000_000, 1_400_000_000_000);
        await sink.commit();
        assert.equal((await b.storage.stat('meta/big')).mtimeMs, 1_400_000_000_000);
        assert.equal(sha256((await b.objectBytes('meta/big')) as Buffer), sha256(data));
      });

      test('random reads at odd offsets', async () => {
        const data = randomBytes(3 * MiB + 7);
        await upload('rand/f', data);
        const src = await b.storage.openRead('rand/f');
        try {
          for (const [off, len] of [
            [2 * MiB + 3, 1000],
            [0, 10],
            [3 * MiB, 100],
            [1, MiB],
          ] as const) {
            assert.deepEqual(Buffer.from(await src.read(off, len)), data.subarray(off, off + len));
          }
          assert.equal((await src.read(data.length, 10)).length, 0, 'EOF');
          assert.equal((await src.read(data.length - 2, 10)).length, 2, 'short read at the end');
        } finally {
          await src.close();
        }
      });

      test('pipelined sequential reads (many in flight) return the right bytes', async () => {
        const data = randomBytes(4 * MiB + 1);
        await upload('rand/pipe', data);
        const src = await b.storage.openRead('rand/pipe');
        const chunk = 64 * 1024;
        const reads: Promise<Uint8Array>[] = [];
        for (let off = 0; off < data.length; off += chunk) reads.push(src.read(off, chunk));
        const got = Buffer.concat(await Promise.all(reads));
        await src.close();
        assert.equal(sha256(got), sha256(data));
      });
    });

    describe('write ordering', () => {
      test('out of order within the window is accepted', async () => {
        const data = randomBytes(2 * PART + 100);
        const sink = await b.storage.openWrite('ooo/ok', W);
        // Second part first, then the first, then the tail: all within current part + 2.
        await sink.write(PART, data.subarray(PART, 2 * PART));
        await sink.write(2 * PART, data.subarray(2 * PART));
        await sink.write(0, data.subarray(0, PART));
        await sink.commit();
        assert.equal(sha256((await b.objectBytes('ooo/ok')) as Buffer), sha256(data));
      });

      test('beyond the window fails clearly and stores nothing', async () => {
        const sink = await b.storage.openWrite('ooo/far', W);
        await sink.write(0, Buffer.alloc(10));
        await assert.rejects(sink.write(3 * PART, Buffer.alloc(10)), /reorder window/);
        await sink.abort();
        assert.equal(await b.objectBytes('ooo/far'), undefined);
      });

      test('an overlap fails clearly', async () => {
        const sink = await b.storage.openWrite('ooo/overlap', W);
        await sink.write(0, Buffer.alloc(100));
        await assert.rejects(sink.write(50, Buffer.alloc(100)), rejectsWith(StorageErrorCode.InvalidWrite));
        await sink.abort();
      });

      test('a write before bytes already sent to S3 fails', async () => {
        const sink = await b.storage.openWrite('ooo/rewrite', W);
        await writeAll(sink, randomBytes(PART + 1));
        await assert.rejects(sink.write(0, Buffer.alloc(1)), /already sent to S3/);
        await sink.abort();
        assert.equal(await b.pendingUploads('ooo/'), 0);
      });

      test('a hole fails the commit and leaves nothing', async () => {
        const sink = await b.storage.openWrite('ooo/hole', W);
        await sink.write(0, Buffer.alloc(100));
        await sink.write(200, Buffer.alloc(100));
        await assert.rejects(sink.commit(), /hole/);
        assert.equal(await b.objectBytes('ooo/hole'), undefined);
      });

      test('a hole across parts fails the commit and aborts the multipart upload', async () => {
        const sink = await b.storage.openWrite('ooo/hole2', W);
        await sink.write(0, randomBytes(PART)); // part 1 goes to S3
        await sink.write(PART + 10, Buffer.alloc(10));
        await assert.rejects(sink.commit(), rejectsWith(StorageErrorCode.InvalidWrite));
        assert.equal(await b.objectBytes('ooo/hole2'), undefined);
        assert.equal(await b.pendingUploads('ooo/hole2'), 0);
      });
    });

    describe('overwrite and abort', () => {
      test('overwrite refused without permission, before any upload', async () => {
        await upload('ow/f', Buffer.from('first'));
        await assert.rejects(b.storage.openWrite('ow/f', W), rejectsWith(StorageErrorCode.PermissionDenied));
        assert.equal(String(await b.objectBytes('ow/f')), 'first');
      });

      test('overwrite allowed with permission', async () => {
        await upload('ow/g', Buffer.from('first'));
        await upload('ow/g', Buffer.from('second'), WO);
        assert.equal(String(await b.objectBytes('ow/g')), 'second');
      });

      test('an object created during the upload wins the race: commit fails (If-None-Match)', async () => {
        const sink = await b.storage.openWrite('ow/race', W);
        await sink.write(0, Buffer.from('mine'));
        await b.putRaw('ow/race', Buffer.from('theirs'));
        await assert.rejects(sink.commit(), rejectsWith(StorageErrorCode.AlreadyExists));
        assert.equal(String(await b.objectBytes('ow/race')), 'theirs');
      });

      test('the race on a multipart upload is caught at CompleteMultipartUpload', async () => {
        const sink = await b.storage.openWrite('ow/race2', W);
        await writeAll(sink, randomBytes(PART + 5));
        await b.putRaw('ow/race2', Buffer.from('theirs'));
        await assert.rejects(sink.commit(), rejectsWith(StorageErrorCode.AlreadyExists));
        assert.equal(String(await b.objectBytes('ow/race2')), 'theirs');
        assert.equal(await b.pendingUploads('ow/race2'), 0);
      });

      test('writing a file where a directory is refused', async () => {
        await b.storage.mkdir('ow/dir');
        await assert.rejects(b.storage.openWrite('ow/dir', WO), rejectsWith(StorageErrorCode.IsDirectory));
        // A directory implied by a child (no marker), whether OPEN may replace a file (WO) or not (W).
        await b.putRaw('ow/implied/child', Buffer.from('x'));
        for (const o of [W, WO]) {
          await assert.rejects(b.storage.openWrite('ow/implied', o), rejectsWith(StorageErrorCode.IsDirectory));
        }
      });

      test('abort leaves no object and no multipart upload; abort is idempotent', async () => {
        const sink = await b.storage.openWrite('ab/f', W);
        await writeAll(sink, randomBytes(2 * PART + 3));
        await Promise.all([sink.abort('client went away'), sink.abort()]);
        await sink.abort();
        assert.equal(await b.objectBytes('ab/f'), undefined);
        assert.equal(await b.pendingUploads('ab/'), 0);
        await assert.rejects(sink.write(2 * PART + 3, Buffer.alloc(1)), rejectsWith(StorageErrorCode.Aborted));
        await assert.rejects(sink.commit(), rejectsWith(StorageErrorCode.Aborted));
      });

      test('commit is idempotent and abort after commit keeps the object', async () => {
        const sink = await b.storage.openWrite('ab/g', W);
        await sink.write(0, Buffer.from('kept'));
        await Promise.all([sink.commit(), sink.commit()]);
        await sink.abort();
        assert.equal(String(await b.objectBytes('ab/g')), 'kept');
      });
    });

    describe('metadata operations', () => {
      test('root always exists', async () => {
        const root = await b.storage.stat('');
        assert.equal(root.kind, 'directory');
      });

      test('stat: file, marker directory, implied directory, missing', async () => {
        await upload('st/f', Buffer.from('abc'));
        await b.storage.mkdir('st/marked');
        await b.putRaw('st/implied/child', Buffer.from('x'));
        assert.equal((await b.storage.stat('st/f')).size, 3);
        assert.equal((await b.storage.stat('st/marked')).kind, 'directory');
        assert.equal((await b.storage.stat('st/implied')).kind, 'directory');
        await assert.rejects(b.storage.stat('st/nope'), rejectsWith(StorageErrorCode.NotFound));
        // Whole segments: `st/f` exists but `st/f2`... does not, and `st/mark` is not `st/marked`.
        await assert.rejects(b.storage.stat('st/mark'), rejectsWith(StorageErrorCode.NotFound));
      });

      test('list pages through more than one ListObjectsV2 page', async () => {
        for (let i = 0; i < 9; i++) await b.putRaw(`ls/d/file${String(i).padStart(2, '0')}`, Buffer.from([i]));
        await b.storage.mkdir('ls/d/sub1');
        await b.putRaw('ls/d/sub2/deep/x', Buffer.from('x'));
        await b.storage.mkdir('ls/d/sub3');
        const { pages, entries } = await listAll(b.pagedStorage(5), 'ls/d');
        assert.ok(pages >= 3, `expected >= 3 pages, got ${pages}`);
        const names = entries.map((e) => `${e.kind === 'directory' ? 'd' : 'f'}:${e.name}`).sort();
        assert.equal(names.length, 12);
        assert.deepEqual(
          names.filter((n) => n.startsWith('f:')),
          Array.from({ length: 9 }, (_, i) => `f:file0${i}`),
        );
        assert.ok(names.includes('d:sub1') && names.includes('d:sub2') && names.includes('d:sub3'));
        assert.equal(entries.find((e) => e.name === 'file03')?.size, 1);
        assert.ok(!names.some((n) => n.includes('/')), 'only direct children');
      });

      test('list of the root and of an empty directory', async () => {
        const root = await listAll(b.storage, '');
        assert.ok(root.entries.some((e) => e.kind === 'directory' && e.name === 'ls'));
        await b.storage.mkdir('ls/empty');
        assert.deepEqual((await listAll(b.storage, 'ls/empty')).entries, []);
      });

      test('mkdir writes a marker and refuses an existing name', async () => {
        await b.storage.mkdir('mk/a');
        assert.ok((await b.keys('mk/')).includes('mk/a/'));
        await assert.rejects(b.storage.mkdir('mk/a'), rejectsWith(StorageErrorCode.AlreadyExists));
        await upload('mk/file', Buffer.from('x'));
        await assert.rejects(b.storage.mkdir('mk/file'), rejectsWith(StorageErrorCode.AlreadyExists));
      });

      test('rmdir only when empty; not on a file; not on a missing dir', async () => {
        await b.storage.mkdir('rd/a');
        await upload('rd/a/f', Buffer.from('x'));
        await assert.rejects(b.storage.rmdir('rd/a'), rejectsWith(StorageErrorCode.NotEmpty));
        await b.storage.remove('rd/a/f');
        await b.storage.rmdir('rd/a');
        assert.deepEqual(await b.keys('rd/'), []);
        await upload('rd/file', Buffer.from('x'));
        await assert.rejects(b.storage.rmdir('rd/file'), rejectsWith(StorageErrorCode.NotDirectory));
        await assert.rejects(b.storage.rmdir('rd/none'), rejectsWith(StorageErrorCode.NotFound));
        await b.putRaw('rd/implied/x', Buffer.from('x'));
        await assert.rejects(b.storage.rmdir('rd/implied'), rejectsWith(StorageErrorCode.NotEmpty));
      });

      test('remove files only', async () => {
        await upload('rm/f', Buffer.from('x'));
        await b.storage.mkdir('rm/d');
        await assert.rejects(b.storage.remove('rm/d'), rejectsWith(StorageErrorCode.IsDirectory));
        await assert.rejects(b.storage.remove('rm/none'), rejectsWith(StorageErrorCode.NotFound));
        await b.storage.remove('rm/f');
        assert.deepEqual(await b.keys('rm/'), ['rm/d/']);
      });

      test('rename a file: copy then delete, metadata kept, no silent overwrite', async () => {
        const sink = await b.storage.openWrite('mv/a', W);
        await sink.write(0, Buffer.from('aaa'));
        sink.setTimes(1_000_000_000_000, 1_000_000_000_000);
        await sink.commit();
        await b.storage.rename('mv/a', 'mv/b', { overwrite: false });
        assert.deepEqual(await b.keys('mv/'), ['mv/b']);
        assert.equal((await b.storage.stat('mv/b')).mtimeMs, 1_000_000_000_000);
        await upload('mv/c', Buffer.from('ccc'));
        await assert.rejects(
          b.storage.rename('mv/b', 'mv/c', { overwrite: false }),
          rejectsWith(StorageErrorCode.AlreadyExists),
        );
        await b.storage.rename('mv/b', 'mv/c', { overwrite: true });
        assert.deepEqual(await b.keys('mv/'), ['mv/c']);
        assert.equal(String(await b.objectBytes('mv/c')), 'aaa');
        await assert.rejects(
          b.storage.rename('mv/none', 'mv/x', { overwrite: true }),
          rejectsWith(StorageErrorCode.NotFound),
        );
      });

      test('rename a directory up to maxRenameObjects, else TOO_MANY_OBJECTS', async () => {
        await b.storage.mkdir('mvd/src');
        for (const k of ['a', 'b', 'sub/c']) await upload(`mvd/src/${k}`, Buffer.from(k));
        await b.storage.rename('mvd/src', 'mvd/dst', { overwrite: false });
        assert.deepEqual((await b.keys('mvd/')).sort(), ['mvd/dst/', 'mvd/dst/a', 'mvd/dst/b', 'mvd/dst/sub/c']);
        for (let i = 0; i < 5; i++) await b.putRaw(`mvd/big/${i}`, Buffer.from('x'));
        await assert.rejects(
          b.storage.rename('mvd/big', 'mvd/big2', { overwrite: false }),
          rejectsWith(StorageErrorCode.TooManyObjects),
        );
        assert.equal((await b.keys('mvd/big/')).length, 5, 'nothing moved');
        await assert.rejects(
          b.storage.rename('mvd/dst', 'mvd/dst/inside', { overwrite: false }),
          rejectsWith(StorageErrorCode.Failure),
        );
      });

      test('copy is server-side, refuses directories and silent overwrite', async () => {
        const data = randomBytes(1000);
        await upload('cp/a', data);
        await b.storage.copy('cp/a', 'cp/b', { overwrite: false });
        assert.equal(sha256((await b.objectBytes('cp/b')) as Buffer), sha256(data));
        assert.ok(await b.objectBytes('cp/a'), 'source kept');
        await assert.rejects(
          b.storage.copy('cp/a', 'cp/b', { overwrite: false }),
          rejectsWith(StorageErrorCode.AlreadyExists),
        );
        await b.storage.mkdir('cp/d');
        await assert.rejects(
          b.storage.copy('cp/d', 'cp/e', { overwrite: true }),
          rejectsWith(StorageErrorCode.IsDirectory),
        );
      });

      test('setTimes stores times as metadata (file and directory)', async () => {
        await upload('tm/f', Buffer.from('x'));
        await b.storage.setTimes('tm/f', 1_200_000_000_500, 1_300_000_000_250);
        const f = await b.storage.stat('tm/f');
        assert.equal(f.mtimeMs, 1_300_000_000_250);
        assert.equal(f.atimeMs, 1_200_000_000_500);
        assert.equal(String(await b.objectBytes('tm/f')), 'x', 'content kept by the self-copy');
        assert.equal((await b.objectMetadata('tm/f'))?.['sftpgate-user'], 'alice', 'other metadata kept');
        await b.storage.mkdir('tm/d');
        await b.storage.setTimes('tm/d', 1_100_000_000_000, 1_100_000_000_000);
        assert.equal((await b.storage.stat('tm/d')).mtimeMs, 1_100_000_000_000);
        await assert.rejects(b.storage.setTimes('tm/none', 0, 0), rejectsWith(StorageErrorCode.NotFound));
      });

      test('openRead of a directory or a missing file', async () => {
        await b.storage.mkdir('or/d');
        await assert.rejects(b.storage.openRead('or/d'), rejectsWith(StorageErrorCode.IsDirectory));
        await assert.rejects(b.storage.openRead('or/none'), rejectsWith(StorageErrorCode.NotFound));
      });
    });
  });
}
