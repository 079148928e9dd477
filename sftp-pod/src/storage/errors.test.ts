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

test('every storage error code is documented in docs/storage.md', async () => {
  const { readFile } = await import('node:fs/promises');
  const doc = await readFile(new URL('../../../docs/storage.md', import.meta.url), 'utf8');
  for (const code of Object.values(StorageErrorCode)) assert.ok(doc.includes(`\`${code}\``), `${code} not in docs`);
});
