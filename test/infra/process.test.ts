import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isTestbedError, TestbedErrorCode } from './errors.ts';
import { isAlive } from './ports.ts';
import { makeTempDir, removeTempDir, runCommand, spawnManaged, waitUntil } from './process.ts';
import { findTestbedProcesses } from './reap.ts';

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined once the process is gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const FIXTURE = new URL('./fixtures/owner.ts', import.meta.url).pathname;
const tmp = makeTempDir('process-test');
after(() => removeTempDir(tmp));

async function startOwner(): Promise<{ ownerPid: number; descendants: () => number[] }> {
  // The fixture's own temp dir goes under ours, so it is removed with ours although the fixture is killed.
  const owner = spawn(process.execPath, [FIXTURE], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SFTPGATE_TESTBED_TMPDIR: tmp },
  });
  const ownerPid = owner.pid;
  assert.ok(ownerPid);
  await new Promise<void>((resolve, reject) => {
    owner.stdout.on('data', (b: Buffer) => {
      if (b.toString().includes('started')) resolve();
    });
    owner.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
  });
  owner.stdout.destroy();
  owner.unref();
  return {
    ownerPid,
    descendants: () =>
      findTestbedProcesses()
        .filter((p) => p.owner === ownerPid)
        .map((p) => p.pid),
  };
}

describe('managed processes', () => {
  for (const sig of ['SIGKILL', 'SIGTERM'] as const) {
    it(`never outlive an owner that dies of ${sig}`, async () => {
      const { ownerPid, descendants } = await startOwner();
      // The guard and `sleep 1000` both carry the owner marker.
      await waitUntil('sleeper started', async () => descendants().length >= 2, { timeoutMs: 10_000 });
      // Identity is pid + start time: pids wrap quickly here (pid_max 32768, busy machine), so a bare pid that is
      // alive afterwards may be someone else's new process.
      const before = descendants().map((pid) => ({ pid, started: startTime(pid) }));
      process.kill(ownerPid, sig);
      const survives = (p: { pid: number; started: string | undefined }) =>
        isAlive(p.pid) && startTime(p.pid) === p.started;
      // A process in the middle of exiting has no cmdline (so no marker) before it is gone: wait for the processes
      // themselves, not only for the markers, then assert.
      await waitUntil(
        'owner and its servers gone',
        async () => !isAlive(ownerPid) && descendants().length === 0 && !before.some(survives),
        { timeoutMs: 20_000 },
      ).catch(() => undefined);
      assert.equal(isAlive(ownerPid), false, `owner ${ownerPid} survived`);
      assert.deepEqual(descendants(), [], 'no process carries the owner marker');
      for (const p of before) assert.equal(survives(p), false, `pid ${p.pid} survived`);
    });
  }

  it('fails a readiness wait fast, with the log tail, when the process exits', async () => {
    const p = spawnManaged({
      name: 'crasher',
      command: 'sh',
      args: ['-c', 'echo "boom: bad flag" >&2; exit 3'],
      logFile: join(tmp, 'crasher.log'),
    });
    await assert.rejects(
      waitUntil('crasher', async () => false, { timeoutMs: 60_000, process: p }),
      (err) =>
        isTestbedError(err, TestbedErrorCode.ProcessExited) &&
        /code 3/.test(err.message) &&
        /boom: bad flag/.test(err.message),
    );
  });

  it('times out with the last attempt error as cause', async () => {
    await assert.rejects(
      waitUntil(
        'never',
        async () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 300, intervalMs: 50 },
      ),
      (err) => isTestbedError(err, TestbedErrorCode.StartupTimeout) && /connection refused/.test(err.message),
    );
  });

  it('stops a process on request, idempotently', async () => {
    const p = spawnManaged({ name: 'sleeper', command: 'sleep', args: ['1000'], logFile: join(tmp, 'sleep.log') });
    await waitUntil(
      'sleep running',
      async () => findTestbedProcesses().some((x) => x.cmdline === 'sleep 1000' && x.owner === process.pid),
      { timeoutMs: 10_000 },
    );
    await Promise.all([p.stop(), p.stop()]);
    await p.stop();
    assert.ok(p.exitStatus);
    assert.equal(findTestbedProcesses().filter((x) => x.owner === process.pid && x.cmdline === 'sleep 1000').length, 0);
  });

  it('runCommand reports stderr of a failing command and honours input', async () => {
    const ok = await runCommand('cat', [], { input: 'hello' });
    assert.equal(ok.stdout, 'hello');
    await assert.rejects(
      runCommand('sh', ['-c', 'echo nope >&2; exit 2']),
      (err) =>
        isTestbedError(err, TestbedErrorCode.CommandFailed) && /exit 2/.test(err.message) && /nope/.test(err.message),
    );
    const aborted = AbortSignal.timeout(100);
    await assert.rejects(runCommand('sleep', ['30'], { signal: aborted }), (err) =>
      isTestbedError(err, TestbedErrorCode.Aborted),
    );
  });
});
