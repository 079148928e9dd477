import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderVerdict, TARGETS, verdict } from './verdict.ts';

test('the targets are issue 13 "Done when" list, in its order', () => {
  assert.deepEqual(
    TARGETS.map((t) => `${t.id} ${t.op} ${t.limit}`),
    [
      'uploadCpu <= 0.53',
      'downloadCpu <= 1.1',
      'uploadSpeed >= 1.46',
      'downloadSpeed >= 0.9',
      'smallRequests <= 2',
      'smallWall <= 1.4',
      'idleRss <= 64',
      'peakRss <= 160',
    ],
  );
});

test('verdict compares ratios for ratio targets and the pod figure for absolute ones; limits are inclusive', () => {
  const rows = verdict({
    uploadCpu: { pod: 5, rclone: 10, ratio: 0.53 },
    downloadCpu: { pod: 6, rclone: 5, ratio: 1.2 },
    uploadSpeed: { pod: 150, rclone: 100, ratio: 1.5 },
    downloadSpeed: { pod: 80, rclone: 100, ratio: 0.8 },
    smallRequests: { pod: 2 },
    smallWall: { pod: 1, rclone: 1, ratio: 1 },
    idleRss: { pod: 65 },
  });
  assert.deepEqual(
    rows.map((r) => [r.target.id, r.met]),
    [
      ['uploadCpu', true],
      ['downloadCpu', false],
      ['uploadSpeed', true],
      ['downloadSpeed', false],
      ['smallRequests', true],
      ['smallWall', true],
      ['idleRss', false],
      ['peakRss', null],
    ],
  );
});

test('a ratio target without a ratio (rclone missing) is not measured, never met', () => {
  const [row] = verdict({ uploadCpu: { pod: 4 } });
  assert.equal(row?.met, null);
});

test('renderVerdict writes one row per target with goal, figures and verdict, and the run context', () => {
  const md = renderVerdict(verdict({ uploadCpu: { pod: 5.2, rclone: 9.8, ratio: 0.531 }, idleRss: { pod: 60 } }), {
    startedAt: '2026-12-05T02:00:00Z',
    tree: 'abc1234',
    load: [
      [3, 2, 1],
      [5, 3, 2],
    ],
    setup: '1 GiB, 3 rounds.',
  });
  assert.match(md, /1 of 8 targets met/);
  assert.match(md, /commit `abc1234`/);
  assert.match(md, /Load average \(1 min\) through the run: 3\.0-5\.0/);
  assert.match(
    md,
    /\| 1 GiB upload: server CPU \| <= 0\.53x rclone \| 5\.20 CPU-s\/GiB \| 9\.80 \| 0\.531x \| \*\*missed\*\* \|/,
  );
  assert.match(md, /\| idle RSS after start and one login \| <= 64 MiB \| 60 MiB \| — \| 60 MiB \| met \|/);
  assert.match(md, /\| peak RSS during a 1 GiB upload \| .* \| not measured \|/);
});
