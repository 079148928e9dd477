import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectStartupGarbage } from './main.ts';

test('start-up garbage: one memory-reducing full collection when the image exposes gc, nothing without it', () => {
  assert.equal(collectStartupGarbage(undefined), undefined);
  const calls: unknown[] = [];
  const gc = ((options: unknown) => {
    calls.push(options);
  }) as NodeJS.GCFunction;
  const ms = collectStartupGarbage(gc);
  assert.equal(typeof ms, 'number');
  assert.deepEqual(calls, [{ type: 'major', execution: 'sync', flavor: 'last-resort' }]);
});
