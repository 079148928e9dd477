import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodUsage, UsageMeasurement } from '../../../common/src/quota/usage-document.ts';
import { addCommit, commitsSince, cutoff, leaseExtra, usedTotal, within } from './usage-math.ts';

const m: UsageMeasurement = { version: 1, username: 'u', bytes: 100, files: 2, startedAt: 10_000, measuredAt: 11_000 };
const pod = (over: Partial<PodUsage>): PodUsage => ({
  version: 1,
  pod: 'p',
  username: 'u',
  updatedAt: 0,
  leaseBytes: 0,
  leaseFiles: 0,
  leaseExpiresAt: 0,
  commits: [],
  ...over,
});

describe('usage arithmetic', () => {
  it('commits before the measurement start minus the skew are in the measurement; later ones count on top', () => {
    assert.equal(cutoff(m, 2_000), 8_000);
    assert.equal(cutoff(undefined, 2_000), Number.NEGATIVE_INFINITY);
    assert.deepEqual(
      commitsSince(
        pod({
          commits: [
            [7_999, 5, 1],
            [8_000, 7, 1],
            [12_000, 11, 0],
          ],
        }),
        8_000,
      ),
      { bytes: 18, files: 1 },
    );
  });

  it('used = measured + commits since + unexpired leases (leases left out for statvfs)', () => {
    const pods = [
      pod({ commits: [[9_000, 10, 1]], leaseBytes: 50, leaseFiles: 3, leaseExpiresAt: 20_000 }),
      pod({ pod: 'dead', leaseBytes: 1_000, leaseExpiresAt: 14_999 }),
    ];
    assert.deepEqual(usedTotal(m, pods, 15_000, 2_000), { bytes: 160, files: 6 });
    assert.deepEqual(usedTotal(m, pods, 15_000, 2_000, false), { bytes: 110, files: 3 });
  });

  it('limits: absent means unlimited; equal to the limit fits', () => {
    assert.equal(within({ bytes: 10, files: 10 }, {}), true);
    assert.equal(within({ bytes: 10, files: 1 }, { maxBytes: 10 }), true);
    assert.equal(within({ bytes: 11, files: 1 }, { maxBytes: 10 }), false);
    assert.equal(within({ bytes: 0, files: 3 }, { maxFiles: 2 }), false);
  });

  it('a lease asks for a quarter of the room left, capped, and nothing without a limit', () => {
    assert.equal(leaseExtra(undefined, 0, 100), 0);
    assert.equal(leaseExtra(1_000, 200, 10_000), 200);
    assert.equal(leaseExtra(1_000, 200, 50), 50);
    assert.equal(leaseExtra(1_000, 1_200, 50), 0);
  });

  it('commits aggregate per second and forget what the measurement holds', () => {
    let c = addCommit([], 1_100, 5, 1, 0);
    c = addCommit(c, 1_900, 6, 1, 0);
    c = addCommit(c, 2_100, 7, 1, 0);
    assert.deepEqual(c, [
      [1_000, 11, 2],
      [2_000, 7, 1],
    ]);
    assert.deepEqual(addCommit(c, 3_000, 1, 1, 2_000), [
      [2_000, 7, 1],
      [3_000, 1, 1],
    ]);
  });
});
