import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Delivery, DeliveryQueue, type DropReason } from './queue.ts';

const d = (id: string, queuedAt: number): Delivery => ({
  id,
  event: 'upload',
  body: '{}',
  queuedAt,
  attempts: 0,
  lastError: '',
});

describe('bounded delivery queue', () => {
  it('is first in, first out', () => {
    const q = new DeliveryQueue(10, 1000, () => assert.fail('no drop'));
    q.push(d('a', 0));
    q.push(d('b', 0));
    assert.equal(q.head(0)?.id, 'a');
    q.remove(q.head(0) as Delivery);
    assert.equal(q.head(0)?.id, 'b');
    assert.equal(q.size, 1);
  });

  it('drops the oldest on overflow and reports it', () => {
    const dropped: [string, DropReason][] = [];
    const q = new DeliveryQueue(2, 1000, (x, why) => dropped.push([x.id, why]));
    for (const id of ['a', 'b', 'c', 'd']) q.push(d(id, 0));
    assert.deepEqual(dropped, [
      ['a', 'overflow'],
      ['b', 'overflow'],
    ]);
    assert.equal(q.size, 2);
    assert.equal(q.head(0)?.id, 'c');
  });

  it('drops entries older than the max age when the head is looked at', () => {
    const dropped: [string, DropReason][] = [];
    const q = new DeliveryQueue(10, 100, (x, why) => dropped.push([x.id, why]));
    q.push(d('old', 0));
    q.push(d('older-but-fine', 50));
    assert.equal(q.head(100)?.id, 'old', 'exactly max age is still in');
    assert.equal(q.head(140)?.id, 'older-but-fine');
    assert.deepEqual(dropped, [['old', 'expired']]);
    assert.equal(q.head(1000), undefined);
    assert.equal(q.size, 0);
  });

  it('removing an entry overflow already dropped is a no-op', () => {
    const q = new DeliveryQueue(1, 100, () => {});
    const a = d('a', 0);
    q.push(a);
    q.push(d('b', 0));
    q.remove(a);
    assert.equal(q.size, 1);
  });

  it('refuses a capacity below 1', () => assert.throws(() => new DeliveryQueue(0, 1, () => {}), RangeError));
});
