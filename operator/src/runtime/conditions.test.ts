import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../api/types.generated.ts';
import { getCondition, markUnexplainedFailure, setCondition, statusEqual, summarizeReady } from './conditions.ts';
import { StallingError, WaitingError } from './errors.ts';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T01:00:00Z');

describe('setCondition', () => {
  it('adds a condition stamped with the generation and a second-precision transition time', () => {
    const list = setCondition(
      [],
      { type: 'StorageReady', status: true, reason: 'BucketReachable', message: 'ok' },
      3,
      t0,
    );
    assert.deepEqual(list, [
      {
        type: 'StorageReady',
        status: 'True',
        observedGeneration: 3,
        lastTransitionTime: '2026-01-01T00:00:00Z',
        reason: 'BucketReachable',
        message: 'ok',
      },
    ]);
  });

  it('keeps lastTransitionTime when only reason/message/generation change, updates it on a flip', () => {
    const a = setCondition([], { type: 'Ready', status: 'False', reason: 'Deleting', message: 'a' }, 1, t0);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'Progressing', message: 'b' }, 2, t1);
    assert.equal(getCondition(b, 'Ready')?.lastTransitionTime, '2026-01-01T00:00:00Z');
    assert.equal(getCondition(b, 'Ready')?.observedGeneration, 2);
    assert.equal(getCondition(b, 'Ready')?.reason, 'Progressing');
    const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok' }, 2, t1);
    assert.equal(getCondition(c, 'Ready')?.lastTransitionTime, '2026-01-01T01:00:00Z');
  });

  it('preserves order and does not mutate its input', () => {
    const a = setCondition([], { type: 'X', status: true, reason: 'Reconciled', message: '' }, 1, t0);
    const b = setCondition(a, { type: 'Y', status: true, reason: 'Reconciled', message: '' }, 1, t0);
    const c = setCondition(b, { type: 'X', status: false, reason: 'Reconciled', message: '' }, 1, t1);
    assert.deepEqual(
      c.map((x) => x.type),
      ['X', 'Y'],
    );
    assert.equal(b[0]?.status, 'True');
  });

  it('caps long messages', () => {
    const list = setCondition(
      [],
      { type: 'X', status: false, reason: 'Reconciled', message: 'x'.repeat(40_000) },
      1,
      t0,
    );
    assert.ok((list[0]?.message.length ?? 0) <= 32_003);
  });

  it('is idempotent: setting the same condition twice yields an equal status', () => {
    const input = { type: 'Ready', status: true, reason: 'Reconciled', message: 'ok' } as const;
    const once = setCondition([], input, 4, t0);
    const twice = setCondition(once, input, 4, t1);
    assert.ok(statusEqual({ conditions: once }, { conditions: twice }));
  });
});

describe('summarizeReady', () => {
  const base: Condition[] = [];
  it('reports the first non-True dependency, in order', () => {
    let list = setCondition(
      base,
      { type: 'StorageReady', status: true, reason: 'BucketReachable', message: '' },
      1,
      t0,
    );
    list = setCondition(
      list,
      { type: 'HostKeysReady', status: false, reason: 'HostKeysInvalid', message: 'bad key' },
      1,
      t0,
    );
    const ready = getCondition(
      summarizeReady(list, ['StorageReady', 'HostKeysReady'], 1, 'Reconciled', 'ok', t0),
      'Ready',
    );
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'HostKeysInvalid');
    assert.equal(ready?.message, 'HostKeysReady: bad key');
  });

  it('is Unknown while a dependency is missing and True when all are', () => {
    const list = setCondition(
      base,
      { type: 'StorageReady', status: true, reason: 'BucketReachable', message: '' },
      1,
      t0,
    );
    assert.equal(
      getCondition(summarizeReady(list, ['StorageReady', 'Available'], 1, 'Reconciled', '', t0), 'Ready')?.status,
      'Unknown',
    );
    assert.equal(
      getCondition(summarizeReady(list, ['StorageReady'], 1, 'Reconciled', '', t0), 'Ready')?.status,
      'True',
    );
  });
});

describe('statusEqual', () => {
  it('ignores undefined members and compares deeply', () => {
    assert.ok(statusEqual({ a: 1, b: undefined, c: [{ d: 2 }] }, { a: 1, c: [{ d: 2 }] }));
    assert.ok(!statusEqual({ a: 1, c: [{ d: 2 }] }, { a: 1, c: [{ d: 3 }] }));
    assert.ok(!statusEqual({ a: [1, 2] }, { a: [2, 1] }));
  });
});

describe('markUnexplainedFailure', () => {
  const ready = setCondition([], { type: 'Ready', status: true, reason: 'Reconciled', message: 'ok' }, 1, t0);
  const always = () => true;
  const cases: { name: string; failure: unknown; supersede: (r: Condition | undefined) => boolean; want: string }[] = [
    { name: 'no failure keeps Ready', failure: undefined, supersede: always, want: 'True/Reconciled' },
    {
      name: 'a stalling error explains itself',
      failure: new StallingError('Bad', 'bad spec'),
      supersede: always,
      want: 'True/Reconciled',
    },
    {
      name: 'a waiting error explains itself',
      failure: new WaitingError('Later', 'later', 10),
      supersede: always,
      want: 'True/Reconciled',
    },
    {
      name: 'the caller may keep the current Ready',
      failure: new Error('boom'),
      supersede: () => false,
      want: 'True/Reconciled',
    },
    {
      name: 'an unexplained error turns Ready False',
      failure: new Error('apply failed'),
      supersede: always,
      want: 'False/ReconcileError/apply failed',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = getCondition(markUnexplainedFailure(ready, c.failure, 2, 'ReconcileError', c.supersede), 'Ready');
      const summary = [got?.status, got?.reason, ...(got?.status === 'False' ? [got.message] : [])].join('/');
      assert.equal(summary, c.want);
    });
  }
});
