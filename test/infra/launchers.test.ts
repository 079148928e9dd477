// The launchers' lifecycle contract: an AbortSignal cancels a startup cleanly or stops a running component, and
// nothing (process, temp dir) is left behind either way.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startControlPlane } from './control-plane.ts';
import { isTestbedError, TestbedErrorCode } from './errors.ts';
import { startMinio } from './minio.ts';
import { waitUntil } from './process.ts';
import { findTestbedProcesses } from './reap.ts';

/** Our own live server processes (guards and what they run). */
const ours = () => findTestbedProcesses().filter((p) => p.owner === process.pid);

describe('launchers', () => {
  it('refuse to start with an already aborted signal', async () => {
    await assert.rejects(startMinio({ signal: AbortSignal.abort() }), (err) =>
      isTestbedError(err, TestbedErrorCode.Aborted),
    );
    assert.deepEqual(ours(), []);
  });

  it('stop a running component when the signal fires, and remove its data', async () => {
    const controller = new AbortController();
    const minio = await startMinio({ signal: controller.signal });
    assert.ok(existsSync(minio.dataDir));
    assert.ok(ours().length >= 2);
    controller.abort();
    await waitUntil('minio gone', async () => ours().length === 0 && !existsSync(minio.dataDir), {
      timeoutMs: 30_000,
    });
    await minio.stop(); // still idempotent after an abort
  });

  it('cancel a control-plane startup midway without leaving anything behind', async () => {
    const controller = new AbortController();
    // Abort once etcd is up but before the apiserver is ready.
    const started = startControlPlane({ signal: controller.signal });
    await waitUntil('kube-apiserver spawned', async () => ours().some((p) => p.cmdline.includes('kube-apiserver')), {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    controller.abort(new Error('test aborts'));
    await assert.rejects(started, (err) => isTestbedError(err, TestbedErrorCode.Aborted));
    assert.deepEqual(ours(), []);
  });
});
