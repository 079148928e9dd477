import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measuredFromRun, type RunResults } from './report.ts';
import type { ServerName } from './servers.ts';
import type { SmallFilesSample } from './small-files.ts';
import type { TransferSample } from './transfer.ts';

const MiB = 2 ** 20;

function transfer(round: number, server: ServerName, scenario: string, cpu: number, mbps: number): TransferSample {
  return {
    round,
    server,
    scenario,
    files: 1,
    bytes: 1024 * MiB,
    seconds: 1,
    mbPerSecond: mbps,
    cpuSecondsPerGiB: cpu,
    systemCpuSecondsPerGiB: 0,
    minioCpuSecondsPerGiB: null,
    clientCpuSecondsPerGiB: 0,
    peakRssBytes: (100 + round) * MiB,
  };
}

function small(round: number, server: ServerName, seconds: number, perFile: number | null): SmallFilesSample {
  return { round, server, seconds, cpuMsPerFile: 1, s3RequestsPerFile: perFile, s3Requests: perFile, s3ByApi: {} };
}

const run: RunResults = {
  servers: ['sftp-pod', 'openssh', 'rclone'],
  transfers: [
    // Upload CPU per round: pod 4, 6, 5 against rclone 10, 10, 5 -> ratios 0.4, 0.6, 1 -> median 0.6.
    transfer(1, 'sftp-pod', 'upload x1', 4, 100),
    transfer(2, 'sftp-pod', 'upload x1', 6, 100),
    transfer(3, 'sftp-pod', 'upload x1', 5, 100),
    transfer(1, 'rclone', 'upload x1', 10, 50),
    transfer(2, 'rclone', 'upload x1', 10, 50),
    transfer(3, 'rclone', 'upload x1', 5, 50),
    transfer(1, 'openssh', 'upload x1', 1, 500),
    transfer(1, 'sftp-pod', 'download x1', 3, 90),
    transfer(1, 'rclone', 'download x1', 2, 100),
  ],
  small: [small(1, 'sftp-pod', 2, 3), small(1, 'rclone', 1, 2), small(1, 'openssh', 0.5, null)],
  idleRssBytes: { 'sftp-pod': 60 * MiB, rclone: 40 * MiB, openssh: 9 * MiB },
  putPreserve: [],
};

test('measuredFromRun pairs ratios per round against rclone and takes medians; OpenSSH never enters a target', () => {
  const m = measuredFromRun(run);
  assert.deepEqual(m.uploadCpu, { pod: 5, rclone: 10, ratio: 0.6 });
  assert.deepEqual(m.uploadSpeed, { pod: 100, rclone: 50, ratio: 2 });
  assert.deepEqual(m.downloadCpu, { pod: 3, rclone: 2, ratio: 1.5 });
  assert.deepEqual(m.downloadSpeed, { pod: 90, rclone: 100, ratio: 0.9 });
  assert.deepEqual(m.smallRequests, { pod: 3, rclone: 2 });
  assert.deepEqual(m.smallWall, { pod: 2, rclone: 1, ratio: 2 });
  assert.deepEqual(m.idleRss, { pod: 60, rclone: 40 });
  // Peak RSS of the pod's uploads: 101, 102, 103 MiB -> median 102.
  assert.deepEqual(m.peakRss, { pod: 102, rclone: 102 });
});

test('a run without the pod leaves every target unmeasured', () => {
  const m = measuredFromRun({ ...run, transfers: [], small: [], idleRssBytes: {} });
  assert.deepEqual(m, {});
});
