import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_HEAD_BYTES, parseResponseHead, WireResponseError } from './wire-head.ts';

const head = (s: string) => Buffer.from(s, 'latin1');

describe('HTTP/1.1 response head of the ranged-GET path', () => {
  it('reads status, lower-case fields, length, keep-alive and where the body starts', () => {
    const text = 'HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nETag: "e"\r\nX-Amz-Meta-A: 1\r\n\r\nhello';
    const h = parseResponseHead(head(text));
    assert.ok(h);
    assert.deepEqual(
      { ...h, headers: { ...h.headers } },
      {
        status: 206,
        headers: { 'content-length': '5', etag: '"e"', 'x-amz-meta-a': '1' },
        contentLength: 5,
        transferEncoded: false,
        keepAlive: true,
        headBytes: text.length - 5,
      },
    );
  });

  it('waits for the blank line; a reason phrase may be empty; repeated fields join as node:http joins them', () => {
    assert.equal(parseResponseHead(head('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n')), undefined);
    const h = parseResponseHead(head('HTTP/1.1 200\r\nVary: a\r\nVary: b\r\nContent-Length: 0\r\n\r\n'));
    assert.equal(h?.status, 200);
    assert.equal(h?.headers['vary'], 'a, b');
  });

  it('a field named __proto__ or constructor is a plain header, not an inherited property', () => {
    const h = parseResponseHead(head('HTTP/1.1 200 OK\r\n__proto__: x\r\nConstructor: y\r\nContent-Length: 0\r\n\r\n'));
    assert.equal(Object.getPrototypeOf(h?.headers), null);
    assert.deepEqual(Object.entries(h?.headers ?? {}).slice(0, 2), [
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);
    assert.equal(h?.headers['constructor'], 'y');
    assert.equal(h?.headers['toString'], undefined);
  });

  const keepAlive: [string, string, boolean][] = [
    ['HTTP/1.1 by default', 'HTTP/1.1 200 OK\r\n', true],
    ['HTTP/1.1 with Connection: close', 'HTTP/1.1 200 OK\r\nConnection: close\r\n', false],
    ['HTTP/1.0 by default', 'HTTP/1.0 200 OK\r\n', false],
    ['HTTP/1.0 with keep-alive', 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n', true],
  ];
  for (const [name, start, expected] of keepAlive) {
    it(`keep-alive: ${name}`, () => {
      assert.equal(parseResponseHead(head(`${start}Content-Length: 0\r\n\r\n`))?.keepAlive, expected);
    });
  }

  it('notes Transfer-Encoding and a missing length (the caller refuses such GET bodies)', () => {
    const h = parseResponseHead(head('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'));
    assert.equal(h?.transferEncoded, true);
    assert.equal(h?.contentLength, undefined);
  });

  const refused: [string, string][] = [
    ['not HTTP', 'ICY 200 OK\r\n\r\n'],
    ['HTTP/2 status line', 'HTTP/2 200\r\n\r\n'],
    ['three-digit status out of range', 'HTTP/1.1 099 x\r\n\r\n'],
    ['status line with a NUL', 'HTTP/1.1 200 O\0K\r\n\r\n'],
    ['folded field (obs-fold)', 'HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n'],
    ['field without a colon', 'HTTP/1.1 200 OK\r\nnonsense\r\n\r\n'],
    ['space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n'],
    ['bare LF inside a value', 'HTTP/1.1 200 OK\r\nA: b\nContent-Length: 9\r\n\r\n'],
    ['negative length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
    ['length with a sign', 'HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n'],
    ['length list', 'HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n'],
    ['conflicting lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'],
    ['absurd length', 'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n'],
  ];
  for (const [name, text] of refused) {
    it(`refuses: ${name}`, () => {
      assert.throws(() => parseResponseHead(head(text)), WireResponseError);
    });
  }

  it('refuses a head over 16 KiB, complete or not', () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}`;
    assert.throws(() => parseResponseHead(head(big)), WireResponseError);
    assert.throws(() => parseResponseHead(head(`${big}\r\n\r\n`)), WireResponseError);
    assert.throws(() => parseResponseHead(head(big)), { code: 'SFTPGATE_S3_BAD_RESPONSE' });
  });

  it('agreeing repeated lengths are one length', () => {
    const h = parseResponseHead(head('HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n'));
    assert.equal(h?.contentLength, 3);
  });
});
