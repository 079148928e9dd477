import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { digestMetadata, digestTags, parseDigestMetadata, parseDigestTags, UploadHasher } from './upload-hash.ts';

describe('upload hashes', () => {
  test('hashing parts in order equals hashing the file, with and without MD5', () => {
    const file = randomBytes(100_000);
    for (const md5 of [false, true]) {
      const h = new UploadHasher(md5);
      for (let off = 0; off < file.length; off += 7_000) h.update(file.subarray(off, off + 7_000));
      const d = h.digests();
      assert.equal(d.sha256, createHash('sha256').update(file).digest('hex'));
      assert.equal(d.md5, md5 ? createHash('md5').update(file).digest('hex') : undefined);
      assert.equal(h.digests(), d, 'idempotent');
      assert.throws(() => h.update(file), /already finished/);
    }
  });

  test('empty upload', () => {
    assert.equal(
      new UploadHasher(false).digests().sha256,
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  test('tags round-trip; malformed or missing tags are no digest', () => {
    const d = { sha256: 'a'.repeat(64), md5: 'b'.repeat(32) };
    assert.deepEqual(parseDigestTags(digestTags(d)), d);
    assert.deepEqual(digestMetadata(d), { 'sftpgate-sha256': 'a'.repeat(64), 'sftpgate-md5': 'b'.repeat(32) });
    assert.deepEqual(parseDigestMetadata({ ...digestMetadata(d), mtime: '1.000' }), d);
    assert.equal(parseDigestMetadata({ mtime: '1.000' }), undefined);
    assert.deepEqual(parseDigestTags([{ Key: 'sftpgate-sha256', Value: 'c'.repeat(64) }]), { sha256: 'c'.repeat(64) });
    assert.equal(parseDigestTags([{ Key: 'sftpgate-sha256', Value: 'not hex' }]), undefined);
    assert.equal(parseDigestTags([]), undefined);
    assert.equal(parseDigestTags(undefined), undefined);
    assert.deepEqual(
      parseDigestTags([...digestTags({ sha256: 'd'.repeat(64) }), { Key: 'sftpgate-md5', Value: 'x' }]),
      {
        sha256: 'd'.repeat(64),
      },
    );
  });
});
