import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBuckets } from './token-buckets.ts';

describe('token buckets', () => {
  it('a key starts full, spends down to nothing, refills at the rate up to the burst', () => {
    const b = new TokenBuckets({ perSecond: 2, burst: 3 });
    assert.equal(b.tokens('a', 0), 3);
    assert.equal(b.take('a', 0, 2), true);
    assert.equal(b.take('a', 0, 2), false, 'a refused take spends nothing');
    assert.equal(b.tokens('a', 0), 1);
    assert.equal(b.tokens('a', 500), 2);
    assert.equal(b.tokens('a', 60_000), 3);
    assert.equal(b.tokens('b', 0), 3, 'keys are separate');
  });

  it('readyAt: when n tokens are there; never, past the burst or without a rate', () => {
    const b = new TokenBuckets({ perSecond: 0.1, burst: 2 });
    b.take('a', 0, 2);
    assert.equal(b.readyAt('a', 0), 10_000);
    assert.equal(b.readyAt('a', 4_000), 10_000, 'stays put as time passes');
    assert.equal(b.readyAt('a', 0, 2), 20_000);
    assert.equal(b.readyAt('a', 0, 3), Number.POSITIVE_INFINITY);
    assert.equal(b.readyAt('b', 7, 2), 7);
    const none = new TokenBuckets({ perSecond: 0, burst: 1 });
    none.take('a', 0);
    assert.equal(none.readyAt('a', 1e9), Number.POSITIVE_INFINITY);
  });

  it('refunds never pass the burst; a clock going backwards grants nothing', () => {
    const b = new TokenBuckets({ perSecond: 1, burst: 2 });
    b.take('a', 10_000, 2);
    b.refund('a', 10_000, 5);
    assert.equal(b.tokens('a', 10_000), 2);
    b.take('a', 10_000, 2);
    assert.equal(b.tokens('a', 5_000), 0);
  });

  it('full buckets are forgotten, by sweep or when a new key would pass sweepAt', () => {
    const b = new TokenBuckets({ perSecond: 1, burst: 1 }, 4);
    for (const k of ['a', 'b', 'c', 'd', 'e']) b.take(k, 0);
    assert.equal(b.size, 5, 'nothing full to forget yet');
    b.take('f', 1_000);
    assert.equal(b.size, 1);
    b.sweep(2_000);
    assert.equal(b.size, 0);
  });
});
