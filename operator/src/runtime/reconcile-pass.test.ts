import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PassRun, runPass, type Step } from './reconcile-pass.ts';

type Status = { n?: number; summary?: string };
interface Run extends PassRun<Status> {
  log: string[];
}
const newRun = (): Run => ({ status: {}, done: false, log: [] });
const step =
  (name: string, fn: (r: Run) => void = () => {}): Step<Run> =>
  async (r) => {
    r.log.push(name);
    fn(r);
  };

describe('runPass', () => {
  it('runs the steps in order, summarises and writes once when the status changed', async () => {
    const run = newRun();
    const writes: unknown[] = [];
    await runPass<Run, Status>(run, {}, [step('a', (r) => (r.status.n = 1)), step('b')], {
      summarize: (r, failure) => (r.status.summary = failure === undefined ? 'ok' : 'failed'),
      write: async (r) => void writes.push(structuredClone(r.status)),
      onWriteError: () => assert.fail('no write error'),
    });
    assert.deepEqual(run.log, ['a', 'b']);
    assert.deepEqual(writes, [{ n: 1, summary: 'ok' }]);
  });

  it('writes nothing when the summarised status equals the one read', async () => {
    const run = newRun();
    run.status.summary = 'ok';
    let writes = 0;
    await runPass<Run, Status>(run, { summary: 'ok' }, [step('a')], {
      summarize: (r) => (r.status.summary = 'ok'),
      write: async () => void writes++,
      onWriteError: () => {},
    });
    assert.equal(writes, 0);
  });

  it('stops at the first error, rethrows it, and still records the status (a write failure is only reported)', async () => {
    const run = newRun();
    const reported: unknown[] = [];
    const boom = new Error('step failed');
    await assert.rejects(
      runPass<Run, Status>(
        run,
        {},
        [
          step('a'),
          step('b', () => {
            throw boom;
          }),
          step('c'),
        ],
        {
          summarize: (r, failure) => (r.status.summary = (failure as Error).message),
          write: async () => {
            throw new Error('status write failed');
          },
          onWriteError: (err) => reported.push((err as Error).message),
        },
      ),
      boom,
    );
    assert.deepEqual(run.log, ['a', 'b']);
    assert.deepEqual(reported, ['status write failed']);
  });

  it('a step that ends the pass skips the rest; writesStatus false skips summary and write', async () => {
    const run = newRun();
    let summarised = false;
    await runPass<Run, Status>(run, {}, [step('delete', (r) => (r.done = true)), step('never')], {
      summarize: () => (summarised = true),
      write: async () => assert.fail('no write'),
      writesStatus: () => false,
      onWriteError: () => {},
    });
    assert.deepEqual(run.log, ['delete']);
    assert.equal(summarised, false);
  });
});
