// kubectl → operator → users Secret → sftp pod → OpenSSH sftp, end to end on a real kube-apiserver and MinIO. The
// pod process runs as the Deployment configures it, reading its Secrets with its own ServiceAccount token.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Resources } from '../../operator/src/runtime/kube-client.ts';
import { runCommand, sftpClientArgs } from '../infra/index.ts';
import {
  type RunningOperator,
  serverConditionsTrue,
  serverManifest,
  sshKeyPair,
  startOperator,
  startTenantBed,
  type TestBed,
  userManifest,
  usersTable,
  waitFor,
} from '../integration/operator-harness.ts';
import { type RunningPod, startSftpPod } from '../integration/operator-pod.ts';

const NS = 'e2e';
let bed: TestBed;
let op: RunningOperator;
let pod: RunningPod;

function sftpArgs(keyPath: string, user: string): string[] {
  return sftpClientArgs({ port: pod.sshPort, user, keyFile: keyPath });
}

/** One batch session; resolves the exit code and output. */
async function sftp(keyPath: string, user: string, batch: string): Promise<{ code: number; out: string }> {
  const r = await runCommand('sftp', ['-b', '-', ...sftpArgs(keyPath, user)], {
    input: batch,
    allowFailure: true,
    timeoutMs: 60_000,
    cwd: bed.tmp,
  });
  return { code: r.code ?? -1, out: `${r.stdout}${r.stderr}` };
}

before(async () => {
  bed = await startTenantBed(NS);
  op = startOperator(bed);
  await bed.admin.apply(Resources.SftpServer, serverManifest(bed, NS, 'demo'));
  await serverConditionsTrue(bed, NS, 'demo', ['StorageReady', 'HostKeysReady']);
  await waitFor('Deployment', () => bed.admin.getOptional(Resources.Deployment, NS, 'demo-sftp'));
  pod = await startSftpPod({ cp: bed.cp, admin: bed.admin, namespace: NS, server: 'demo', dir: join(bed.tmp, 'pod') });
});
after(async () => {
  await pod?.stop();
  await op?.stop();
  await bed?.stop();
});

describe('operator → sftp pod', () => {
  const alice = () => sshKeyPair(bed.tmp, `alice-${Math.random().toString(36).slice(2, 8)}`);
  let key1: { privateKeyPath: string; publicKey: string };

  it('a user applied with kubectl logs in with OpenSSH sftp within seconds, no restart', async () => {
    key1 = alice();
    const manifest = join(bed.tmp, 'alice.json');
    writeFileSync(
      manifest,
      JSON.stringify(userManifest(NS, 'alice', { serverRef: { name: 'demo' }, authorizedKeys: [key1.publicKey] })),
    );
    await bed.cp.kubectl(['apply', '-f', manifest]);
    writeFileSync(join(bed.tmp, 'hello.txt'), 'hello from e2e\n');
    const r = await waitFor(
      'alice can log in',
      async () => {
        const x = await sftp(key1.privateKeyPath, 'alice', 'put hello.txt\nls -l\n');
        return x.code === 0 && x;
      },
      30_000,
    );
    assert.match(r.out, /hello\.txt/);
  });

  it('changing the key: the old key is refused, the new one works', async () => {
    const key2 = alice();
    // kubectl apply of the edited manifest, as a user would (same field manager: the list is replaced).
    writeFileSync(
      join(bed.tmp, 'alice.json'),
      JSON.stringify(userManifest(NS, 'alice', { serverRef: { name: 'demo' }, authorizedKeys: [key2.publicKey] })),
    );
    await bed.cp.kubectl(['apply', '-f', join(bed.tmp, 'alice.json')]);
    await waitFor(
      'new key in the table',
      async () => {
        const keys = (await usersTable(bed, NS, 'demo'))?.users.find((u) => u.username === 'alice')?.publicKeys;
        if (keys?.length === 1 && keys[0] === key2.publicKey) return true;
        throw new Error(`table has ${JSON.stringify(keys)}, want ${key2.publicKey}`);
      },
      20_000,
    );
    await waitFor('old key refused', async () => (await sftp(key1.privateKeyPath, 'alice', 'ls\n')).code !== 0, 30_000);
    const ok = await waitFor('new key accepted', async () => {
      const x = await sftp(key2.privateKeyPath, 'alice', 'ls\n');
      return x.code === 0 && x;
    });
    assert.match(ok.out, /hello\.txt/);
    key1 = key2;
  });

  it('kubectl delete: new logins refused and the live session closed within 10 s', async (t) => {
    // A live interactive session, kept open on stdin.
    const live: ChildProcess = spawn('sftp', sftpArgs(key1.privateKeyPath, 'alice'), {
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: bed.tmp,
    });
    let out = '';
    live.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    let err = '';
    live.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => live.once('exit', (code) => resolve(code)));
    // The pokes below may hit the pipe after sftp exited (the session closes fast): that EPIPE is the expected end.
    live.stdin?.on('error', () => {});
    live.stdin?.write('pwd\n');
    await waitFor('live session working', () => out.includes('Remote working directory'), 30_000);
    await bed.cp.kubectl(['delete', 'sftpuser', 'alice', '-n', NS]);
    const deleted = Date.now();
    // An interactive sftp reading commands from a pipe only notices a closed connection when it next talks to the
    // server, so keep it talking with `ls` (`pwd` is answered locally; a person at the prompt would see "Connection closed" on their next command).
    const poke = setInterval(() => live.stdin?.write('ls\n'), 300);
    const closed = await Promise.race([
      exited.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 10_000)),
    ]);
    const tookMs = Date.now() - deleted;
    clearInterval(poke);
    if (!closed) {
      live.kill('SIGKILL');
      process.stderr.write(`sftp out: ${out}\nsftp err: ${err}\n`);
    }
    assert.ok(closed, 'the live session was still open 10 s after kubectl delete');
    assert.ok(tookMs <= 10_000);
    t.diagnostic(`live session closed ${tookMs} ms after kubectl delete returned`);
    assert.notEqual((await sftp(key1.privateKeyPath, 'alice', 'ls\n')).code, 0);
  });
});
