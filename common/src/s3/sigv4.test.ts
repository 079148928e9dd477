import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalRequest, EMPTY_SHA256, sha256Hex, signRequest } from './sigv4.ts';
import { canonicalQuery, uriEncodePath } from './uri.ts';

// The examples of the S3 API reference, "Signature Calculations for the Authorization Header: Transferring Payload
// in a Single Chunk (AWS Signature Version 4)": bucket examplebucket, us-east-1, 2013-05-24T00:00:00Z.
const credentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const at = Date.UTC(2013, 4, 24);
const host = 'examplebucket.s3.amazonaws.com';

function signatureOf(authorization: string | undefined): string {
  return /Signature=([0-9a-f]{64})$/.exec(authorization ?? '')?.[1] ?? '';
}

describe('SigV4 (the S3 documentation examples)', () => {
  const cases = [
    {
      name: 'GET Object with a range',
      method: 'GET',
      path: '/test.txt',
      query: {},
      headers: { host, range: 'bytes=0-9' },
      payloadHash: EMPTY_SHA256,
      signature: 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    },
    {
      name: 'PUT Object',
      method: 'PUT',
      path: uriEncodePath('/test$file.text'),
      query: {},
      headers: { host, date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      payloadHash: sha256Hex('Welcome to Amazon S3.'),
      signature: '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    },
    {
      name: 'GET Bucket lifecycle',
      method: 'GET',
      path: '/',
      query: { lifecycle: '' },
      headers: { host },
      payloadHash: EMPTY_SHA256,
      signature: 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
    },
    {
      name: 'GET Bucket (list objects)',
      method: 'GET',
      path: '/',
      query: { 'max-keys': '2', prefix: 'J' },
      headers: { host },
      payloadHash: EMPTY_SHA256,
      signature: '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const headers: Record<string, string> = { ...c.headers };
      signRequest(
        { method: c.method, path: c.path, query: canonicalQuery(c.query), headers, payloadHash: c.payloadHash },
        credentials,
        'us-east-1',
        at,
      );
      assert.equal(signatureOf(headers['authorization']), c.signature);
      assert.equal(headers['x-amz-date'], '20130524T000000Z');
    });
  }

  it('adds the session token and signs it', () => {
    const headers: Record<string, string> = { host };
    signRequest(
      { method: 'GET', path: '/', query: '', headers, payloadHash: EMPTY_SHA256 },
      { ...credentials, sessionToken: 'tok' },
      'us-east-1',
      at,
    );
    assert.equal(headers['x-amz-security-token'], 'tok');
    assert.match(
      headers['authorization'] ?? '',
      /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/,
    );
  });

  it('trims and folds header values in the canonical request', () => {
    const { canonical } = canonicalRequest({
      method: 'GET',
      path: '/',
      query: '',
      headers: { host, 'x-amz-meta-a': '  two   spaces  ' },
      payloadHash: EMPTY_SHA256,
    });
    assert.match(canonical, /\nx-amz-meta-a:two spaces\n/);
  });
});
