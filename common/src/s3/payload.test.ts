import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodyLength, crc32Base64, payloadHashFor } from './payload.ts';
import { EMPTY_SHA256, sha256Hex, UNSIGNED_PAYLOAD } from './sigv4.ts';

describe('request payload', () => {
  it('CRC32 matches what the AWS SDK sent for the same bytes (captured wire)', () => {
    assert.equal(crc32Base64(Buffer.from('hello')), 'NhCmhg==');
    assert.equal(crc32Base64(Buffer.alloc(1000)), 'BgsXgA==');
  });

  it('CRC32 of a list of buffers equals that of their concatenation (no join needed)', () => {
    const parts = [Buffer.from('hel'), Buffer.from(''), Buffer.from('lo')];
    assert.equal(crc32Base64(parts), crc32Base64(Buffer.from('hello')));
    assert.equal(bodyLength(parts), 5);
  });

  it('upload bodies are unsigned over HTTPS only; everything else signs its SHA-256', () => {
    const body = Buffer.from('x');
    assert.equal(payloadHashFor(true, 'https:', body), UNSIGNED_PAYLOAD);
    assert.equal(payloadHashFor(true, 'http:', body), sha256Hex(body), 'plain HTTP keeps the signed hash');
    assert.equal(payloadHashFor(false, 'https:', body), sha256Hex(body));
    assert.equal(payloadHashFor(false, 'https:', undefined), EMPTY_SHA256);
    assert.equal(payloadHashFor(false, 'http:', [Buffer.from('a'), Buffer.from('b')]), sha256Hex('ab'));
  });
});
