import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unsignedPayload } from './s3-unsigned-payload.ts';

test('only upload bodies over HTTPS go unsigned', () => {
  assert.equal(unsignedPayload('UploadPartCommand', 'https:'), true);
  assert.equal(unsignedPayload('PutObjectCommand', 'https:'), true);
  assert.equal(unsignedPayload('UploadPartCommand', 'http:'), false, 'plain HTTP keeps the signed hash');
  assert.equal(unsignedPayload('PutObjectCommand', undefined), false);
  assert.equal(unsignedPayload('CompleteMultipartUploadCommand', 'https:'), false);
  assert.equal(unsignedPayload(undefined, 'https:'), false);
});
