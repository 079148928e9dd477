import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { signature, signatureHeader, verifySignature } from './sign.ts';

const key = Buffer.from('tenant-hmac-key');
const body = '{"id":"d1","type":"upload"}';

describe('webhook signatures', () => {
  it('is HMAC-SHA256 over "<timestamp>.<body>" (the documented recipe)', () => {
    const want = createHmac('sha256', key).update(`1700000000.${body}`).digest('hex');
    assert.equal(signature(key, 1700000000, body), want);
    assert.equal(signatureHeader(key, 1700000000, body), `v1=${want}`);
  });

  it('verifies a good signature within the tolerance', () => {
    const h = signatureHeader(key, 1000, body);
    assert.equal(verifySignature(key, h, '1000', body, 1100), true);
    assert.equal(verifySignature(key, `v0=abc, ${h}`, '1000', body, 1100), true, 'any v1 entry');
  });

  const bad: [string, () => boolean][] = [
    ['another body', () => verifySignature(key, signatureHeader(key, 1000, body), '1000', `${body} `, 1000)],
    ['another key', () => verifySignature(Buffer.from('x'), signatureHeader(key, 1000, body), '1000', body, 1000)],
    ['another timestamp', () => verifySignature(key, signatureHeader(key, 1000, body), '1001', body, 1000)],
    ['too old (replay)', () => verifySignature(key, signatureHeader(key, 1000, body), '1000', body, 1301)],
    ['no header', () => verifySignature(key, undefined, '1000', body, 1000)],
    ['garbage timestamp', () => verifySignature(key, signatureHeader(key, 1000, body), 'x', body, 1000)],
    [
      'truncated signature',
      () => verifySignature(key, signatureHeader(key, 1000, body).slice(0, 20), '1000', body, 1000),
    ],
  ];
  for (const [name, check] of bad) it(`refuses ${name}`, () => assert.equal(check(), false));
});
