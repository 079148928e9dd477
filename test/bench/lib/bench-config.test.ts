import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BenchConfigError, benchConfig } from './bench-config.ts';

const MiB = 2 ** 20;

test('defaults are the issue 13 comparison: 1 GiB, 3 rounds, single client, three servers, TLS, 200 x 4 KiB, put -p', () => {
  const c = benchConfig({});
  assert.equal(c.totalBytes, 1024 * MiB);
  assert.equal(c.rounds, 3);
  assert.equal(c.streams, 1);
  assert.deepEqual(c.servers, ['sftp-pod', 'openssh', 'rclone']);
  assert.equal(c.tls, true);
  assert.equal(c.smallFiles, 200);
  assert.equal(c.smallKib, 4);
  assert.equal(c.putPreserve, true);
  assert.equal(c.cpuProfile, false);
});

test('BENCH_QUICK=1 moves 128 MiB; explicit sizes and switches win', () => {
  assert.equal(benchConfig({ BENCH_QUICK: '1' }).totalBytes, 128 * MiB);
  const c = benchConfig({ BENCH_QUICK: '1', BENCH_SFTP_MIB: '64', BENCH_TLS: '0', BENCH_SERVERS: 'rclone, sftp-pod' });
  assert.equal(c.totalBytes, 64 * MiB);
  assert.equal(c.tls, false);
  assert.deepEqual(c.servers, ['rclone', 'sftp-pod']);
  assert.deepEqual(benchConfig({ BENCH_POD_NODE_ARGS: ' --max-semi-space-size=2  --jitless ' }).podNodeArgs, [
    '--max-semi-space-size=2',
    '--jitless',
  ]);
});

test('bad settings are refused before any work starts', () => {
  for (const env of [
    { BENCH_ROUNDS: '0' },
    { BENCH_SFTP_MIB: '1.5' },
    { BENCH_TLS: 'yes' },
    { BENCH_SERVERS: 'sftpgo' },
    { BENCH_SERVERS: ',' },
    { BENCH_SFTP_MIB: '100', BENCH_STREAMS: '3' },
  ])
    assert.throws(() => benchConfig(env), BenchConfigError, JSON.stringify(env));
});
