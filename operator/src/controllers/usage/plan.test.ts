import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PendingRequest, planScan, requestWorkers, type ScanInput } from './plan.ts';
import { RequestGate } from './request-gate.ts';

const req = (key: string, since = 0): PendingRequest => ({ key, namespace: key.split('/')[0] ?? '', since });
const input = (over: Partial<ScanInput>): ScanInput => ({
  now: 0,
  concurrency: 4,
  running: 0,
  runningRequests: new Map(),
  requests: [],
  periodic: [],
  lastWasRequest: false,
  ...over,
});
const open = () => new RequestGate({ userIntervalMs: 0, perMinute: 6000, burst: 1000 });

describe('usage scan plan', () => {
  it('requests hold at most half the workers: periodic measurements keep the rest', () => {
    assert.deepEqual([1, 2, 3, 4, 8].map(requestWorkers), [1, 1, 1, 2, 4]);
    const plan = planScan(
      open(),
      input({ requests: ['a/1', 'a/2', 'a/3', 'a/4'].map((k) => req(k)), periodic: ['p/1', 'p/2', 'p/3'] }),
    );
    assert.deepEqual(plan.start, [
      { key: 'a/1', trigger: 'request' },
      { key: 'a/2', trigger: 'request' },
      { key: 'p/1', trigger: 'periodic' },
      { key: 'p/2', trigger: 'periodic' },
    ]);
    assert.deepEqual(plan.deferred, [], 'waiting for a worker is not a deferral');
  });

  it('the namespace running the fewest requests goes next', () => {
    const plan = planScan(
      open(),
      input({
        running: 1,
        runningRequests: new Map([['a', 1]]),
        requests: [req('a/1', 0), req('a/2', 0), req('b/1', 5)],
      }),
    );
    assert.deepEqual(plan.start, [{ key: 'b/1', trigger: 'request' }]);
  });

  it('over the namespace budget a request waits, with the time its token comes', () => {
    const gate = new RequestGate({ userIntervalMs: 0, perMinute: 6, burst: 1 });
    const plan = planScan(gate, input({ requests: [req('a/1', 0), req('a/2', 1), req('a/3', 2), req('b/1', 3)] }));
    assert.deepEqual(plan.start, [
      { key: 'a/1', trigger: 'request' },
      { key: 'b/1', trigger: 'request' },
    ]);
    assert.deepEqual(plan.deferred, [
      { key: 'a/2', until: 10_000 },
      { key: 'a/3', until: 20_000 },
    ]);
  });

  it("within the user's interval a request waits until it ends, and then queues behind those already waiting", () => {
    const gate = new RequestGate({ userIntervalMs: 60_000, perMinute: 6, burst: 1 });
    gate.take('a/1', 'a', 0);
    const plan = planScan(gate, input({ now: 1_000, requests: [req('a/1', 500), req('a/2', 900)] }));
    assert.deepEqual(plan.start, []);
    assert.deepEqual(plan.deferred, [
      { key: 'a/1', until: 60_000 },
      { key: 'a/2', until: 10_000 },
    ]);
    const later = planScan(gate, input({ now: 60_000, requests: [req('a/1', 500), req('a/3', 59_000)] }));
    assert.deepEqual(later.start, [{ key: 'a/3', trigger: 'request' }], 'a/1 became eligible only now');
    assert.deepEqual(later.deferred, [{ key: 'a/1', until: 70_000 }]);
  });

  it('with one worker, requests and periodic measurements take turns', () => {
    const both = { concurrency: 1, requests: [req('a/1')], periodic: ['p/1'] };
    assert.deepEqual(planScan(open(), input(both)).start, [{ key: 'a/1', trigger: 'request' }]);
    assert.deepEqual(planScan(open(), input({ ...both, lastWasRequest: true })).start, [
      { key: 'p/1', trigger: 'periodic' },
    ]);
    assert.deepEqual(planScan(open(), input({ ...both, periodic: [], lastWasRequest: true })).start, [
      { key: 'a/1', trigger: 'request' },
    ]);
  });
});
