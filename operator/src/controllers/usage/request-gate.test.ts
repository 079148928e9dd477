import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestGate } from './request-gate.ts';

describe('request gate', () => {
  it('a user is measured on request at most once per interval', () => {
    const g = new RequestGate({ userIntervalMs: 60_000, perMinute: 600, burst: 100 });
    assert.equal(g.userReadyAt('ns/a'), 0);
    g.take('ns/a', 'ns', 1_000);
    assert.equal(g.userReadyAt('ns/a'), 61_000);
    assert.equal(g.userReadyAt('ns/b'), 0, 'other users are not held');
  });

  it("a namespace spends its burst, then one token per 60/perMinute s; other namespaces' buckets are their own", () => {
    const g = new RequestGate({ userIntervalMs: 0, perMinute: 6, burst: 3 });
    for (let i = 0; i < 3; i++) {
      assert.equal(g.namespaceReadyAt('a', 0, 0), 0);
      g.take(`a/u${i}`, 'a', 0);
    }
    assert.equal(g.namespaceReadyAt('a', 0, 0), 10_000);
    assert.equal(g.namespaceReadyAt('a', 0, 2), 30_000, 'two queued ahead: the third token from now');
    assert.equal(g.namespaceReadyAt('a', 4_000, 0), 10_000, 'the estimate stays put as time passes');
    assert.equal(g.namespaceReadyAt('b', 0, 0), 0);
    assert.equal(g.namespaceReadyAt('a', 10_000, 0), 10_000);
    assert.equal(g.namespaceReadyAt('a', 1_000_000, 2), 1_000_000, 'refilled, up to the burst');
    assert.equal(g.namespaceReadyAt('a', 1_000_000, 3), 1_010_000, 'never beyond the burst');
  });

  it('forgets users and full buckets it no longer needs', () => {
    const g = new RequestGate({ userIntervalMs: 10_000, perMinute: 60, burst: 1 });
    g.take('a/u', 'a', 0);
    g.take('a/v', 'a', 0);
    g.retain(new Set(['a/u']), 1_000);
    assert.equal(g.userReadyAt('a/u'), 10_000);
    assert.equal(g.userReadyAt('a/v'), 0);
    g.retain(new Set(['a/u']), 200_000);
    assert.equal(g.userReadyAt('a/u'), 0);
    assert.equal(g.namespaceReadyAt('a', 200_000, 0), 200_000);
  });
});
