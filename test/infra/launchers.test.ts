// The launchers' lifecycle contract: an AbortSignal cancels a startup cleanly or stops a running component, and
// nothing (process, temp dir) is left behind either way.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { startControlPlane } from './control-plane.ts';
import { isTestbedError, TestbedErrorCode } from './errors.ts';
import { httpGet } from './http.ts';
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

  it('serve MinIO over HTTPS with its own CA: trusted by its clients, refused without the CA', async () => {
    const minio = await startMinio({ tls: true });
    try {
      assert.match(minio.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(minio.caPath && existsSync(minio.caPath));
      await minio.createBucket('tls-check');
      const listed = await minio.s3().send(new ListBucketsCommand({}));
      assert.deepEqual(
        listed.Buckets?.map((b) => b.Name),
        ['tls-check'],
      );
      // Not a certificate anyone else trusts: the same request without the CA fails the TLS handshake.
      await assert.rejects(httpGet(`${minio.endpoint}/minio/health/ready`), /certificate|self.signed|issuer/i);
    } finally {
      await minio.stop();
    }
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
