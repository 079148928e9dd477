import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LookupBudget } from './listing-times-budget.ts';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const spend = (b: LookupBudget, user: string, n: number): number => {
  let got = 0;
  for (let i = 0; i < n; i++) if (b.take(user)) got++;
  return got;
};

describe('LookupBudget', () => {
  test('a user starts with the burst and no more, then gets nothing (never a wait)', () => {
    const c = clock();
    const b = new LookupBudget({ maxPerPage: 10, ratePerSecond: 5, burst: 20 }, c.now);
    assert.equal(b.available('alice'), 20);
    assert.equal(spend(b, 'alice', 1000), 20);
    assert.equal(b.take('alice'), false);
    assert.equal(b.available('alice'), 0);
  });

  test('refills at the rate, never past the burst', () => {
    const c = clock();
    const b = new LookupBudget({ maxPerPage: 10, ratePerSecond: 5, burst: 20 }, c.now);
    spend(b, 'alice', 20);
    c.advance(1000);
    assert.equal(spend(b, 'alice', 100), 5);
    c.advance(200);
    assert.equal(spend(b, 'alice', 100), 1);
    c.advance(3_600_000);
    assert.equal(b.available('alice'), 20);
  });

  test('over any window, a user spends at most burst + rate × seconds, however often they ask', () => {
    const c = clock();
    const b = new LookupBudget({ maxPerPage: 100, ratePerSecond: 10, burst: 100 }, c.now);
    let spent = 0;
    for (let ms = 0; ms < 60_000; ms += 7) {
      spent += spend(b, 'mallory', 50);
      c.advance(7);
    }
    assert.ok(spent <= 100 + 10 * 60, `spent ${spent}`);
    assert.ok(spent >= 10 * 60, 'the rate stays usable');
  });

  test('users have separate buckets: one spending all leaves the others theirs', () => {
    const c = clock();
    const b = new LookupBudget({ maxPerPage: 10, ratePerSecond: 1, burst: 3 }, c.now);
    assert.equal(spend(b, 'mallory', 100), 3);
    assert.equal(spend(b, 'alice', 100), 3);
  });

  test('full buckets are forgotten: memory stays bounded by the users spending', () => {
    const c = clock();
    const b = new LookupBudget({ maxPerPage: 10, ratePerSecond: 10, burst: 10 }, c.now);
    for (let i = 0; i < 5000; i++) b.take(`user-${i}`);
    c.advance(1000);
    b.take('late');
    assert.ok(b.tracked <= 1024, `tracked ${b.tracked}`);
  });

  test('a clock going backwards grants nothing extra', () => {
    const c = clock();
    const b = new LookupBudget({ maxPerPage: 10, ratePerSecond: 10, burst: 10 }, c.now);
    spend(b, 'alice', 10);
    c.advance(-5000);
    assert.equal(b.take('alice'), false);
  });

  test('limits must be positive integers (rate may be 0: the burst only, once)', () => {
    for (const bad of [
      { maxPerPage: 0, ratePerSecond: 1, burst: 1 },
      { maxPerPage: 1, ratePerSecond: -1, burst: 1 },
      { maxPerPage: 1, ratePerSecond: 1, burst: 0 },
      { maxPerPage: 1.5, ratePerSecond: 1, burst: 1 },
      { maxPerPage: 1, ratePerSecond: Number.NaN, burst: 1 },
    ]) {
      assert.throws(() => new LookupBudget(bad), RangeError, JSON.stringify(bad));
    }
    assert.doesNotThrow(() => new LookupBudget({ maxPerPage: 1, ratePerSecond: 0, burst: 1 }));
  });
});
