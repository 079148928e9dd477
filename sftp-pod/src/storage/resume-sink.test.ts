import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { partSize } from './part-size.ts';
import { ResumableSink, type SuspendableSink } from './resume-sink.ts';
import type { ResumeState } from './resume-state.ts';

const MiB = 1024 * 1024;
const candidate: ResumeState = {
  v: 1,
  user: 'alice',
  key: 'srv/alice/f',
  uploadId: 'u1',
  basePartSize: 5 * MiB,
  parts: [1, 2].map((n) => ({ n, etag: `e${n}`, size: partSize(5 * MiB, n) })),
  committedBytes: 10 * MiB,
  savedAtMs: 0,
};

/** A sink that records what reaches it. */
function recorder(log: string[], from: ResumeState | undefined): SuspendableSink {
  const tag = from ? 'resumed' : 'fresh';
  return {
    bytesReceived: 0,
    write: async (offset) => void log.push(`${tag} write ${offset}`),
    setTimes: () => void log.push(`${tag} times`),
    commit: async () => void log.push(`${tag} commit`),
    abort: async () => void log.push(`${tag} abort`),
    suspend: async () => void log.push(`${tag} suspend`),
  };
}

function make(verified: boolean) {
  const log: string[] = [];
  const sink = new ResumableSink({
    candidate,
    verify: async () => verified,
    discard: async () => void log.push('discard stale'),
    open: (from) => recorder(log, from),
  });
  return { log, sink };
}

describe('resumable sink: the first write decides', () => {
  test('at the committed size with every part in S3: continue', async () => {
    const { log, sink } = make(true);
    sink.setTimes(1, 2);
    await Promise.all([sink.write(10 * MiB, new Uint8Array(1)), sink.write(10 * MiB + 1, new Uint8Array(1))]);
    await sink.commit();
    assert.deepEqual(log, [
      `resumed times`,
      `resumed write ${10 * MiB}`,
      `resumed write ${10 * MiB + 1}`,
      'resumed commit',
    ]);
    assert.equal(sink.resumed, true);
  });

  const fresh: [string, number, boolean][] = [
    ['another offset', 0, true],
    ['one byte off', 10 * MiB - 1, true],
    ['parts gone or changed (ListParts disagrees)', 10 * MiB, false],
  ];
  for (const [name, offset, verified] of fresh) {
    test(`${name}: fresh upload, stale one discarded first`, async () => {
      const { log, sink } = make(verified);
      await sink.write(offset, new Uint8Array(1));
      assert.deepEqual(log, ['discard stale', `fresh write ${offset}`]);
      assert.equal(sink.resumed, false);
    });
  }

  test('CLOSE without any write: a fresh (empty) file', async () => {
    const { log, sink } = make(true);
    await sink.commit();
    assert.deepEqual(log, ['discard stale', 'fresh commit']);
  });

  test('abort or session end before the first write leaves the interrupted upload resumable', async () => {
    const { log, sink } = make(true);
    await sink.abort('x');
    await sink.suspend('y');
    assert.deepEqual(log, []);
  });

  test('session end after resuming keeps it resumable again', async () => {
    const { log, sink } = make(true);
    await sink.write(10 * MiB, new Uint8Array(1));
    await sink.suspend('lost');
    assert.deepEqual(log, [`resumed write ${10 * MiB}`, 'resumed suspend']);
  });
});
