// Client matrix, OpenSSH family, on the DEFAULT algorithm policy: OpenSSH sftp (key, password, keyboard-interactive),
// scp (SFTP mode, the default since OpenSSH 9.0) and lftp (over OpenSSH's ssh). One pod + MinIO for the file.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCommand, sftpClientArgs } from '../infra/index.ts';
import { assertCleanedUp, assertRenamed, makeUpload, ok, row, useClientsBed } from './clients-harness.ts';
import { PASSWORD, PREFIX, sha256 } from './sftp-harness.ts';

const bed = useClientsBed();

type Login = 'key' | 'password' | 'keyboard-interactive';

/** OpenSSH options for a login: the key, or the password given by SSH_ASKPASS to the named method only. */
function login(mode: Login): { extra: string[]; env: Record<string, string>; keyFile?: string } {
  if (mode === 'key') return { extra: [], env: {}, keyFile: bed.h.keys['alice']?.file ?? '' };
  return {
    // sftp -b adds BatchMode=yes (no prompts); ssh keeps the first value of an option, so these go before -b.
    extra: ['-o', 'BatchMode=no', '-o', `PreferredAuthentications=${mode}`, '-o', 'NumberOfPasswordPrompts=1'],
    env: { SSH_ASKPASS: bed.askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' },
  };
}

function sftpArgs(mode: Login, user = 'alice'): { args: string[]; env: Record<string, string> } {
  const l = login(mode);
  const args = sftpClientArgs({ port: bed.h.port, user, ...(l.keyFile ? { keyFile: l.keyFile } : {}) });
  return { args: [...l.extra, '-b', '-', ...args], env: l.env };
}

describe('OpenSSH sftp', () => {
  for (const mode of ['key', 'password', 'keyboard-interactive'] as const) {
    test(`${mode}: mkdir, put -p, ls, rename, get -p (times kept), rm, rmdir`, async () => {
      const h = bed.h;
      const dir = `openssh-${mode}`;
      const f = makeUpload(h, `${dir}.up`);
      const down = join(h.dir, `${dir}.down`);
      const { args, env } = sftpArgs(mode);
      const run = (batch: string) => runCommand('sftp', args, { input: batch, env, allowFailure: true, cwd: h.dir });
      const one = await run(
        `mkdir ${dir}\nput -p ${f.path} ${dir}/f.bin\nls -l ${dir}\nrename ${dir}/f.bin ${dir}/g.bin\n`,
      );
      ok(one, 'sftp phase 1');
      assert.match(one.stdout, /f\.bin/);
      await assertRenamed(h, 'alice', dir, f);
      const two = await run(`get -p ${dir}/g.bin ${down}\nrm ${dir}/g.bin\nrmdir ${dir}\n`);
      ok(two, 'sftp phase 2');
      await assertCleanedUp(h, 'alice', dir, down, f);
      assert.equal(Math.floor(statSync(down).mtimeMs / 1000), f.mtime, 'put -p / get -p kept the mtime');
      row(bed, 'OpenSSH sftp 9.2p1', mode, 'mkdir, put -p, ls -l, rename, get -p, rm, rmdir');
    });
  }

  test('keyboard-interactive: a wrong answer fails and counts as a failed attempt', async () => {
    const { args, env } = sftpArgs('keyboard-interactive');
    const before = await metric('sftpgate_auth_attempts_total', 'method="keyboard-interactive",result="failure"');
    const r = await runCommand('sftp', args, {
      input: 'pwd\n',
      env: { ...env, SSH_ASKPASS: bed.wrongAskpass },
      allowFailure: true,
    });
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /Remote working directory/);
    const after = await metric('sftpgate_auth_attempts_total', 'method="keyboard-interactive",result="failure"');
    assert.equal(after - before, 1);
  });
});

test('imported hashes (sha512-crypt, bcrypt, argon2id): the password logs in, a wrong one is refused', async () => {
  for (const user of ['migrated-sha512', 'migrated-bcrypt', 'migrated-argon2id']) {
    const { args, env } = sftpArgs('password', user);
    const good = await runCommand('sftp', args, { input: 'pwd\n', env, allowFailure: true });
    ok(good, `${user} login`);
    assert.match(good.stdout, /Remote working directory: \//);
    const bad = await runCommand('sftp', args, {
      input: 'pwd\n',
      env: { ...env, SSH_ASKPASS: bed.wrongAskpass },
      allowFailure: true,
    });
    assert.notEqual(bad.code, 0, `${user} with a wrong password`);
  }
});

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${bed.h.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('scp (SFTP mode)', () => {
  for (const mode of ['key', 'password'] as const) {
    test(`${mode}: upload and download with -p, checksums and times match`, async () => {
      const h = bed.h;
      const f = makeUpload(h, `scp-${mode}.up`);
      const down = join(h.dir, `scp-${mode}.down`);
      const l = login(mode);
      const common = [
        '-P',
        String(h.port),
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        ...l.extra,
        '-o',
        'BatchMode=yes',
        '-o',
        'IdentitiesOnly=yes',
        ...(l.keyFile ? ['-i', l.keyFile] : []),
        '-p',
      ];
      const put = await runCommand('scp', [...common, f.path, `alice@127.0.0.1:/scp-${mode}.bin`], {
        env: l.env,
        allowFailure: true,
      });
      ok(put, 'scp put');
      assert.equal(await h.sha256Of(`${PREFIX}/alice/scp-${mode}.bin`), f.sha);
      const get = await runCommand('scp', [...common, `alice@127.0.0.1:/scp-${mode}.bin`, down], {
        env: l.env,
        allowFailure: true,
      });
      ok(get, 'scp get');
      assert.equal(sha256(readFileSync(down)), f.sha);
      assert.equal(Math.floor(statSync(down).mtimeMs / 1000), f.mtime, 'scp -p kept the mtime');
      row(bed, 'OpenSSH scp 9.2p1 (SFTP mode)', mode, 'put -p, get -p');
    });
  }
});

describe('lftp (over OpenSSH)', () => {
  for (const mode of ['password', 'key'] as const) {
    test(`${mode}: mkdir, put, cls, mv, get, rm, rmdir`, async () => {
      const h = bed.h;
      const dir = `lftp-${mode}`;
      const f = makeUpload(h, `${dir}.up`);
      const down = join(h.dir, `${dir}.down`);
      const key = h.keys['alice']?.file ?? '';
      const ssh =
        mode === 'key'
          ? `ssh -a -x -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i ${key}`
          : 'ssh -a -x -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no';
      const open =
        mode === 'key'
          ? `open -u alice, -p ${h.port} sftp://127.0.0.1`
          : `open -u alice,"${PASSWORD}" -p ${h.port} sftp://127.0.0.1`;
      const run = (cmds: string[]) =>
        runCommand(
          'lftp',
          ['-c', [`set sftp:connect-program "${ssh}"`, 'set net:max-retries 1', open, ...cmds, 'bye'].join('; ')],
          { allowFailure: true, timeoutMs: 120_000 },
        );
      const one = await run([
        `mkdir ${dir}`,
        `put ${f.path} -o ${dir}/f.bin`,
        `cls -1 ${dir}`,
        `mv ${dir}/f.bin ${dir}/g.bin`,
      ]);
      ok(one, 'lftp phase 1');
      assert.match(one.stdout, /f\.bin/);
      await assertRenamed(h, 'alice', dir, f);
      const two = await run([`get ${dir}/g.bin -o ${down}`, `rm ${dir}/g.bin`, `rmdir ${dir}`]);
      ok(two, 'lftp phase 2');
      await assertCleanedUp(h, 'alice', dir, down, f);
      row(bed, 'lftp 4.9.2', mode, 'mkdir, put, cls, mv, get, rm, rmdir');
    });
  }
});
