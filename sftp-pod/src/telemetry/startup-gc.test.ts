import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { collectStartupGarbage } from './startup-gc.ts';

test('start-up garbage: one memory-reducing full collection, without a global gc left behind', async () => {
  const calls: unknown[] = [];
  assert.equal(typeof collectStartupGarbage((o) => calls.push(o)), 'number');
  assert.deepEqual(calls, [{ type: 'major', execution: 'sync', flavor: 'last-resort' }]);
  // The real collector: an object nothing references any more is gone after it (a WeakRef keeps its target alive
  // until the end of the job that made it, hence the tick).
  const weak = new WeakRef({ big: new Array(1000).fill(0) });
  await tick();
  assert.equal(typeof collectStartupGarbage(), 'number');
  assert.equal(weak.deref(), undefined);
  assert.equal((globalThis as { gc?: unknown }).gc, undefined);
});
