import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { partSize } from './part-size.ts';
import { buildResumeState, contiguousParts, parseResumeState, resumeStateKey } from './resume-state.ts';

const MiB = 1024 * 1024;
const base = 5 * MiB;
const now = 1_800_000_000_000;
const expect = { user: 'alice', key: 'srv/alice/big.bin', nowMs: now, retentionMs: 86_400_000 };
const parts = [1, 2, 3].map((n) => ({ n, etag: `"etag${n}"`, size: partSize(base, n) }));
const good = buildResumeState({
  user: 'alice',
  key: 'srv/alice/big.bin',
  uploadId: 'upload-1',
  basePartSize: base,
  parts,
  savedAtMs: now - 1000,
});

describe('resume state', () => {
  test('the state key is under the reserved root, per user, and hides the path', () => {
    const k = resumeStateKey('srv', 'alice', 'srv/alice/big.bin');
    assert.match(k, /^srv\/\.sftpgate\/uploads\/alice\/[0-9a-f]{64}\.json$/);
    assert.notEqual(k, resumeStateKey('srv', 'bob', 'srv/alice/big.bin'));
    // A user name cannot add segments (or climb out of uploads/).
    assert.match(resumeStateKey('srv', '../x/y', 'k'), /^srv\/\.sftpgate\/uploads\/\.\.%2Fx%2Fy\/[0-9a-f]{64}\.json$/);
  });

  test('committed size is where part k+1 starts; only the contiguous run from part 1 counts', () => {
    assert.equal(good?.committedBytes, 15 * MiB);
    assert.deepEqual(
      contiguousParts([parts[2], parts[0]].filter((p) => p !== undefined)).map((p) => p.n),
      [1],
    );
    assert.equal(buildResumeState({ ...(good as NonNullable<typeof good>), parts: [] }), undefined);
  });

  test('a valid state round-trips', () => {
    assert.deepEqual(parseResumeState(JSON.stringify(good), expect), good);
  });

  // Crafted or stale state objects are never believed: each of these starts a fresh upload.
  const g = good as NonNullable<typeof good>;
  const bad: [string, unknown][] = [
    ['not JSON', '{'],
    ['another user', { ...g, user: 'bob' }],
    ['another key (another user prefix)', { ...g, key: 'srv/bob/big.bin' }],
    ['a key outside the server', { ...g, key: 'other/secret' }],
    ['wrong version', { ...g, v: 2 }],
    ['missing upload id', { ...g, uploadId: '' }],
    ['upload id with control bytes', { ...g, uploadId: 'a\nb' }],
    ['part size below S3 minimum', { ...g, basePartSize: 1024 }],
    ['a gap in the parts', { ...g, parts: [parts[0], parts[2]] }],
    ['a part of the wrong size', { ...g, parts: [{ ...parts[0], size: 1 }] }],
    ['committed size that lies', { ...g, committedBytes: 1 }],
    ['no parts', { ...g, parts: [] }],
    ['bad etag', { ...g, parts: [{ ...parts[0], etag: '<x>' }] }],
    ['older than the retention', { ...g, savedAtMs: now - 86_400_001 }],
    ['from the future', { ...g, savedAtMs: now + 3_600_000 }],
    ['an array', [g]],
  ];
  for (const [name, value] of bad) {
    test(`refused: ${name}`, () => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      assert.equal(parseResumeState(text, expect), undefined);
    });
  }
});
