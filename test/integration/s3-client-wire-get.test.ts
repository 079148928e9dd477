// The lean client's ranged GET without node:http (common/src/s3/wire-get.ts): against MinIO over HTTPS and HTTP
// (bytes and SHA-256 exact, keep-alive reuse, S3's error answers), and against one scripted fake "S3" that sends
// hostile answers: oversized heads, chunked or unframed bodies, wrong lengths, cut bodies, garbage — each refused
// cleanly. Its retries through the fault proxy (5xx, drops, a stall) are in s3-client.test.ts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { S3ResponseError } from '../../common/src/s3/errors.ts';
import type { WireBody } from '../../common/src/s3/wire-get.ts';
import { type Minio, startMinio } from '../infra/index.ts';
import { type LeanS3Client, leanS3 } from './s3-lean.ts';

const BUCKET = 'wire';
const MiB = 1024 * 1024;

/** The whole body of a ranged GET, or the error its pump ended with. */
function collect(body: WireBody): Promise<Buffer> {
  const out = Buffer.alloc(body.length);
  let at = 0;
  return new Promise((resolve, reject) =>
    body.pump(
      (src, start, end) => {
        src.copy(out, at, start, end);
        at += end - start;
      },
      (err) => (err ? reject(err) : resolve(out.subarray(0, at))),
    ),
  );
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

for (const tls of [true, false]) {
  describe(`ranged GET on MinIO over ${tls ? 'HTTPS' : 'HTTP'}`, () => {
    let minio: Minio;
    let c: LeanS3Client;
    const data = randomBytes(9 * MiB + 7);
    let etag = '';
    before(async () => {
      minio = await startMinio({ tls });
      await minio.createBucket(BUCKET);
      c = leanS3(minio);
      etag = (await c.putObject({ Bucket: BUCKET, Key: 'big ü', Body: data })).ETag ?? '';
    });
    after(() => minio?.stop());

    test('ranges of every size arrive byte-exact (SHA-256), in parallel and back to back', async () => {
      const ranges: [number, number][] = [
        [0, 0],
        [0, 1],
        [5, 16 * 1024 + 3],
        [MiB - 1, MiB + 1],
        [0, 4 * MiB - 1],
        [4 * MiB, 8 * MiB - 1],
        [8 * MiB, data.length - 1],
      ];
      for (let round = 0; round < 2; round++) {
        await Promise.all(
          ranges.map(async ([s, e]) => {
            const out = await c.getObjectRange({
              Bucket: BUCKET,
              Key: 'big ü',
              Range: `bytes=${s}-${e}`,
              IfMatch: etag,
            });
            assert.equal(out.ContentLength, e - s + 1);
            assert.equal(out.ContentRange, `bytes ${s}-${e}/${data.length}`);
            assert.equal(out.ETag, etag);
            assert.equal(sha(await collect(out.Body)), sha(data.subarray(s, e + 1)), `${s}-${e}`);
          }),
        );
      }
    });

    test("S3's errors: 412 for another ETag, 404 for no key, 416 for a range past the end", async () => {
      await assert.rejects(
        c.getObjectRange({ Bucket: BUCKET, Key: 'big ü', Range: 'bytes=0-9', IfMatch: '"other"' }),
        (e: unknown) => e instanceof S3ResponseError && e.$metadata.httpStatusCode === 412,
      );
      await assert.rejects(c.getObjectRange({ Bucket: BUCKET, Key: 'absent', Range: 'bytes=0-9' }), {
        name: 'NoSuchKey',
      });
      await assert.rejects(
        c.getObjectRange({ Bucket: BUCKET, Key: 'big ü', Range: `bytes=${data.length + 10}-${data.length + 20}` }),
        (e: unknown) => e instanceof S3ResponseError && e.$metadata.httpStatusCode === 416,
      );
      // The connections that carried those errors serve the next GET.
      const out = await c.getObjectRange({ Bucket: BUCKET, Key: 'big ü', Range: 'bytes=0-99' });
      assert.ok((await collect(out.Body)).equals(data.subarray(0, 100)));
    });

    test('a header value with CR/LF is refused before anything is sent', async () => {
      await assert.rejects(
        c.getObjectRange({ Bucket: BUCKET, Key: 'big ü', Range: 'bytes=0-1', IfMatch: '"x"\r\nX-Evil: 1' }),
        TypeError,
      );
    });

    test('an abort mid-body fails the body; the pool keeps working', async () => {
      const ac = new AbortController();
      const out = await c.getObjectRange(
        { Bucket: BUCKET, Key: 'big ü', Range: `bytes=0-${data.length - 1}` },
        { abortSignal: ac.signal },
      );
      const got = collect(out.Body);
      ac.abort(new Error('stop'));
      await assert.rejects(got);
      const again = await c.getObjectRange({ Bucket: BUCKET, Key: 'big ü', Range: 'bytes=10-19' });
      assert.ok((await collect(again.Body)).equals(data.subarray(10, 20)));
    });
  });
}

/** What the fake S3 does with one request (the n-th on the server, from 0). */
type Script = (n: number, socket: Socket) => void;

/** A plain-TCP "S3" that answers each request head as `script` says; counts requests and connections. */
async function fakeS3(
  script: Script,
): Promise<{ c: LeanS3Client; requests(): number; connections(): number; close(): void }> {
  let requests = 0;
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    let pending = '';
    socket.on('error', () => {});
    socket.on('data', (b) => {
      pending += b.toString('latin1');
      for (let i = pending.indexOf('\r\n\r\n'); i >= 0; i = pending.indexOf('\r\n\r\n')) {
        pending = pending.slice(i + 4);
        script(requests++, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const c = leanS3(
    { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1' },
    { accessKeyId: 'a', secretAccessKey: 'b' },
  );
  return { c, requests: () => requests, connections: () => connections, close: () => server.close() };
}

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition never held');
}

const ok = (body: Buffer, extra = '') =>
  Buffer.concat([Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\n${extra}\r\n`), body]);

describe('ranged GET against hostile answers (one scripted fake S3)', () => {
  const body = randomBytes(40_000);
  const refused: [string, Buffer | string][] = [
    ['a head over 16 KiB', `HTTP/1.1 206 x\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Length: 1\r\n\r\nx`],
    ['an endless head', `HTTP/1.1 206 x\r\nX-Big: ${'a'.repeat(40_000)}`],
    ['a chunked body', 'HTTP/1.1 206 x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['a body without a length (read to close)', 'HTTP/1.1 206 x\r\nConnection: close\r\n\r\nhello'],
    ['conflicting lengths', 'HTTP/1.1 206 x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
    [
      'a length and Transfer-Encoding',
      'HTTP/1.1 206 x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello',
    ],
    ['garbage instead of HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n'],
    ['an interim 100 answer', 'HTTP/1.1 100 Continue\r\n\r\n'],
  ];
  for (const [name, answer] of refused) {
    test(`refused, not retried: ${name}`, async () => {
      const s3 = await fakeS3((_n, socket) => socket.write(answer));
      try {
        await assert.rejects(s3.c.getObjectRange({ Bucket: BUCKET, Key: 'k', Range: 'bytes=0-4' }), {
          code: 'SFTPGATE_S3_BAD_RESPONSE',
        });
        assert.equal(s3.requests(), 1);
      } finally {
        s3.close();
      }
    });
  }

  test('a body cut short fails the reader (ECONNRESET) and is never retried once handed out', async () => {
    const s3 = await fakeS3((_n, socket) => {
      socket.write(`HTTP/1.1 206 x\r\nContent-Length: ${MiB}\r\n\r\n`);
      socket.end(body);
    });
    try {
      const out = await s3.c.getObjectRange({ Bucket: BUCKET, Key: 'k', Range: `bytes=0-${MiB - 1}` });
      assert.equal(out.ContentLength, MiB);
      await assert.rejects(collect(out.Body), { code: 'ECONNRESET' });
      assert.equal(s3.requests(), 1);
    } finally {
      s3.close();
    }
  });

  test('a connection closed before the head is retried (a stale keep-alive connection)', async () => {
    const s3 = await fakeS3((n, socket) => (n === 0 ? socket.destroy() : socket.write(ok(body))));
    try {
      const out = await s3.c.getObjectRange({ Bucket: BUCKET, Key: 'k', Range: 'bytes=0-39999' });
      assert.ok((await collect(out.Body)).equals(body));
      assert.equal(s3.requests(), 2);
    } finally {
      s3.close();
    }
  });

  test('keep-alive: back-to-back GETs share one connection; Connection: close and extra bytes end it', async () => {
    const answers = [
      ok(body),
      ok(body),
      ok(body, 'Connection: close\r\n'),
      Buffer.concat([ok(body), Buffer.from('junk')]),
      ok(body),
    ];
    const s3 = await fakeS3((n, socket) => socket.write(answers[n] ?? ok(body)));
    try {
      const get = async () => {
        const out = await s3.c.getObjectRange({ Bucket: BUCKET, Key: 'k', Range: 'bytes=0-39999' });
        assert.ok((await collect(out.Body)).equals(body));
      };
      await get();
      await get();
      assert.equal(s3.connections(), 1, 'reused');
      await get(); // Connection: close
      await get(); // a new connection; extra bytes after the body
      await get(); // and another one
      assert.equal(s3.connections(), 3);
    } finally {
      s3.close();
    }
  });

  test('an answer trickling in a few bytes at a time (head and body split anywhere) arrives exact', async () => {
    const answer = ok(body, 'ETag: "e"\r\n');
    const s3 = await fakeS3((_n, socket) => {
      void (async () => {
        for (let at = 0; at < answer.length; at += 7 + (at % 13)) {
          socket.write(answer.subarray(at, Math.min(answer.length, at + 7 + (at % 13))));
          if (at < 400) await new Promise((r) => setTimeout(r, 1));
        }
      })();
    });
    try {
      const out = await s3.c.getObjectRange({ Bucket: BUCKET, Key: 'k', Range: 'bytes=0-39999' });
      assert.equal(out.ETag, '"e"');
      assert.ok((await collect(out.Body)).equals(body));
    } finally {
      s3.close();
    }
  });

  test('HTTP/1.0 answers are read, and their connection is not reused', async () => {
    const s3 = await fakeS3((_n, socket) =>
      socket.write(ok(body).toString('latin1').replace('HTTP/1.1', 'HTTP/1.0'), 'latin1'),
    );
    try {
      for (let i = 0; i < 2; i++) {
        const out = await s3.c.getObjectRange({ Bucket: BUCKET, Key: 'k', Range: 'bytes=0-39999' });
        assert.ok((await collect(out.Body)).equals(body));
      }
      assert.equal(s3.connections(), 2);
    } finally {
      s3.close();
    }
  });

  test('at most 50 connections per host: the 51st GET waits, and its deadline still fires while it waits', async () => {
    const s3 = await fakeS3(() => {}); // reads every request, never answers
    const stalled = new AbortController();
    try {
      const held = Array.from({ length: 50 }, (_, i) =>
        s3.c.getObjectRange({ Bucket: BUCKET, Key: `k${i}`, Range: 'bytes=0-1' }, { abortSignal: stalled.signal }),
      );
      for (const h of held) h.catch(() => {});
      await waitFor(() => s3.requests() === 50);
      const started = Date.now();
      await assert.rejects(
        s3.c.getObjectRange(
          { Bucket: BUCKET, Key: 'late', Range: 'bytes=0-1' },
          { abortSignal: AbortSignal.timeout(200) },
        ),
        { name: 'AbortError' },
      );
      assert.ok(Date.now() - started < 5_000);
      assert.equal(s3.connections(), 50);
      assert.equal(s3.requests(), 50, 'the 51st request never went out');
    } finally {
      stalled.abort();
      s3.close();
    }
  });

  test("an idle pooled connection keeps nothing of the bodies it carried (no reader's buffer stays reachable)", async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const s3 = await fakeS3((_n, socket) => socket.write(ok(body)));
    try {
      const memories: WeakRef<ArrayBuffer>[] = [];
      for (let i = 0; i < 3; i++) {
        const out = await s3.c.getObjectRange({ Bucket: BUCKET, Key: 'k', Range: 'bytes=0-39999' });
        const into = Buffer.allocUnsafeSlow(out.Body.length);
        let at = 0;
        await new Promise<void>((resolve, reject) =>
          out.Body.pump(
            (src, start, end) => {
              src.copy(into, at, start, end);
              at += end - start;
            },
            (err) => (err ? reject(err) : resolve()),
          ),
        );
        memories.push(new WeakRef(into.buffer));
      }
      assert.equal(s3.connections(), 1, 'one connection, reused, still open in the pool');
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setImmediate(r));
        gc();
      }
      assert.deepEqual(
        memories.map((m) => m.deref() === undefined),
        [true, true, true],
        'every reader buffer was collected',
      );
    } finally {
      s3.close();
    }
  });

  test("an error answer's XML names the error (even chunked: then the status alone); 5xx retried", async () => {
    const xml = '<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>m</Message></Error>';
    const answers = [
      `HTTP/1.1 404 Not Found\r\nContent-Length: ${xml.length}\r\nX-Amz-Request-Id: r1\r\n\r\n${xml}`,
      'HTTP/1.1 500 x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'HTTP/1.1 500 x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'HTTP/1.1 500 x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ];
    const s3 = await fakeS3((n, socket) => socket.write(answers[n] ?? ''));
    try {
      const missing = await s3.c.getObjectRange({ Bucket: BUCKET, Key: 'k', Range: 'bytes=0-1' }).catch((e) => e);
      assert.ok(missing instanceof S3ResponseError);
      assert.equal(missing.name, 'NoSuchKey');
      assert.equal(missing.$metadata.requestId, 'r1');
      const failed = await s3.c.getObjectRange({ Bucket: BUCKET, Key: 'k', Range: 'bytes=0-1' }).catch((e) => e);
      assert.ok(failed instanceof S3ResponseError);
      assert.equal(failed.name, 'InternalError');
      assert.equal(s3.requests(), 4, '404 once, 500 three times');
    } finally {
      s3.close();
    }
  });
});
