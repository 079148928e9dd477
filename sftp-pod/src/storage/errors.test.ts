import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStorageError, StorageError, StorageErrorCode } from './errors.ts';

test('StorageError carries a stable code and chains its cause', () => {
  const cause = new Error('boom');
  const err = new StorageError(StorageErrorCode.NotFound, 'no such file: a/b', { cause });
  assert.equal(err.code, 'SFTPGATE_STORAGE_NOT_FOUND');
  assert.equal(err.cause, cause);
  assert.ok(isStorageError(err, StorageErrorCode.NotFound));
  assert.ok(!isStorageError(err, StorageErrorCode.Failure));
  assert.ok(!isStorageError(cause));
});
