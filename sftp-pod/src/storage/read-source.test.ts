import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WireBody } from '../../../common/src/s3/wire-get.ts';
import { S3ReadSource } from './read-source.ts';
import type { S3Context } from './s3-context.ts';

const CHUNK = 1024;

/** An "S3" whose ranged GET bodies arrive in 100-byte pieces on later turns of the event loop (real WireBodies). */
function source(
  data: Buffer,
  concurrency = 2,
  budget = { used: 0, tryAcquire: (_n: number) => true, release: (_n: number) => {} },
): { src: S3ReadSource; gets: () => number } {
  let gets = 0;
  const client = {
    async getObjectRange(i: { Range?: string }) {
      gets++;
      const [s, e] = (i.Range ?? '').replace('bytes=', '').split('-').map(Number) as [number, number];
      const body = new WireBody(e - s + 1, () => {});
      void (async () => {
        for (let at = s; at <= e; at += 100) {
          await tick();
          body.receive(data, at, Math.min(e + 1, at + 100));
        }
      })();
      return { ContentLength: e - s + 1, Body: body, $metadata: { httpStatusCode: 206 } };
    },
  };
  const ctx = {
    client,
    bucket: 'b',
    podBudget: { tryAcquire: () => true, release: () => {} },
    send: (_op: string, _what: string, signal: AbortSignal, call: (o: { abortSignal: AbortSignal }) => unknown) =>
      call({ abortSignal: signal }),
  } as unknown as S3Context;
  const src = new S3ReadSource({
    ctx,
    key: 'k',
    what: 'k',
    size: data.length,
    etag: undefined,
    chunkBytes: CHUNK,
    concurrency,
    budget,
  });
  return { src, gets: () => gets };
}

describe('S3ReadSource range buffers', () => {
  it('a view never released keeps its bytes: its buffer is not reused by later chunks', async () => {
    const data = randomBytes(CHUNK * 12);
    const { src } = source(data);
    const kept: [number, Uint8Array][] = [];
    for (let off = 0; off < data.length; off += 256) {
      const view = await src.read(off, 256);
      kept.push([off, view]);
      // Views of the first chunks are never released; later ones are (their buffers may be reused).
      if (off >= CHUNK * 3) src.release(view);
    }
    for (const [off, view] of kept.slice(0, (CHUNK * 3) / 256)) {
      assert.ok(Buffer.from(view).equals(data.subarray(off, off + 256)), `bytes at ${off} intact`);
    }
    await src.close();
  });

  it('released views let later chunks reuse the buffers (no new buffer per chunk), bytes stay exact', async () => {
    const data = randomBytes(CHUNK * 16);
    const { src, gets } = source(data);
    const memories = new Set<ArrayBufferLike>();
    for (let off = 0; off < data.length; off += 512) {
      const view = await src.read(off, 512);
      assert.ok(Buffer.from(view).equals(data.subarray(off, off + 512)), `bytes at ${off}`);
      memories.add(view.buffer);
      src.release(view);
    }
    assert.equal(gets(), 16);
    assert.ok(memories.size <= 5, `${memories.size} range buffers for 16 chunks`);
    await src.close();
  });

  it('pipelined reads (as an SFTP client issues them) are exact while buffers are reused', async () => {
    const data = randomBytes(CHUNK * 10 + 300);
    const { src } = source(data, 3);
    const reads: Promise<void>[] = [];
    for (let off = 0; off < data.length; off += 300) {
      reads.push(
        src.read(off, 300).then(async (view) => {
          const want = data.subarray(off, Math.min(data.length, off + 300));
          assert.ok(Buffer.from(view).equals(want), `bytes at ${off}`);
          await tick(); // released a little later, as the SSH write does
          assert.ok(Buffer.from(view).equals(want), `bytes at ${off} still intact before release`);
          src.release(view);
        }),
      );
    }
    await Promise.all(reads);
    await src.close();
  });

  it('a release beyond the holds, or of memory it never handed out, is ignored', async () => {
    const data = randomBytes(CHUNK * 4);
    const { src } = source(data);
    const first = await src.read(0, 100);
    src.release(first);
    src.release(first);
    src.release(Buffer.alloc(10));
    const rest = await src.read(100, CHUNK * 2);
    assert.ok(Buffer.from(rest).equals(data.subarray(100, 100 + CHUNK * 2)));
    await src.close();
  });

  it('free buffers are counted in the read-ahead budget and given back at close', async () => {
    const data = randomBytes(CHUNK * 8);
    const budget = {
      used: 0,
      tryAcquire(n: number) {
        if (this.used + n > CHUNK * 4) return false;
        this.used += n;
        return true;
      },
      release(n: number) {
        this.used -= n;
        assert.ok(this.used >= 0, 'never released more than taken');
      },
    };
    const { src } = source(data, 2, budget);
    for (let off = 0; off < data.length; off += 512) {
      const view = await src.read(off, 512);
      assert.ok(Buffer.from(view).equals(data.subarray(off, off + 512)), `bytes at ${off}`);
      assert.ok(budget.used <= CHUNK * 4);
      src.release(view);
    }
    await src.close();
    assert.equal(budget.used, 0);
  });

  it('a buffer whose views were dropped without release is left to the collector, not kept by the source', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const data = randomBytes(CHUNK * 6);
    const { src } = source(data);
    let first: Uint8Array | undefined = await src.read(0, 256);
    const memory = new WeakRef(first.buffer);
    first = undefined;
    // Read on past the first chunk (evicted, its GET settled), never releasing anything.
    for (let off = 256; off < CHUNK * 4; off += 256) await src.read(off, 256);
    await tick();
    gc();
    await tick();
    gc();
    assert.equal(memory.deref(), undefined, 'the first range buffer was collected while the source is still open');
    await src.close();
  });
});
