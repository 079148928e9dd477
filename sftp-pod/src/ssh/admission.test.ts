import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Admission, dropProbability } from './admission.ts';
import { Semaphore } from './semaphore.ts';

test('MaxStartups: no drop below start, rate% at start rising to 100% at full', () => {
  const m = { start: 10, rate: 30, full: 20 };
  const cases: Array<[number, number]> = [
    [0, 0],
    [9, 0],
    [10, 0.3],
    [15, 0.65],
    [20, 1],
    [50, 1],
  ];
  for (const [n, p] of cases) assert.ok(Math.abs(dropProbability(n, m) - p) < 1e-9, `${n} -> ${p}`);
  assert.equal(dropProbability(5, { start: 5, rate: 100, full: 5 }), 1);
});

test('admission: per-source cap counts an IPv6 /64 as one source; random early drop; leave frees the slot', () => {
  let roll = 0.99;
  const a = new Admission({ start: 3, rate: 50, full: 5 }, 2, () => roll);
  assert.equal(a.enter('2001:db8::1'), 'accepted');
  assert.equal(a.enter('2001:db8::2'), 'accepted');
  assert.equal(a.enter('2001:db8::3'), 'refused_limit', 'the same /64 already holds its two slots');
  assert.equal(a.enter('10.0.0.1'), 'accepted');
  roll = 0.1;
  assert.equal(a.enter('10.0.0.2'), 'refused_startups', 'at start, 50% are dropped and this roll lost');
  roll = 0.99;
  assert.equal(a.enter('10.0.0.2'), 'accepted');
  assert.equal(a.enter('10.0.0.3'), 'accepted', 'between start and full, a lucky roll gets in');
  assert.equal(a.enter('10.0.0.4'), 'refused_limit', 'full');
  a.leave('2001:db8::1');
  assert.equal(a.enter('2001:db8::4'), 'accepted');
  assert.equal(a.unauthenticated, 5);
});

test('semaphore: at most `limit` run at once, the rest wait in order', async () => {
  const s = new Semaphore(2);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    [0, 1, 2, 3, 4].map((i) =>
      s.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 10));
        order.push(i);
        running--;
      }),
    ),
  );
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
});
