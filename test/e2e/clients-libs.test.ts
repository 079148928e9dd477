// Client matrix, libraries and other implementations, on the DEFAULT algorithm policy: curl (libssh2), rclone (Go
// x/crypto/ssh + pkg/sftp), paramiko (PyPI), PuTTY psftp and JSch (com.github.mwiede:jsch). One pod + MinIO.
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCommand, toolPath } from '../infra/index.ts';
import {
  assertCleanedUp,
  assertRenamed,
  clientTool,
  type LocalFile,
  makeUpload,
  ok,
  row,
  useClientsBed,
} from './clients-harness.ts';
import { PASSWORD } from './sftp-harness.ts';

const bed = useClientsBed();

const DRIVERS = new URL('./clients/', import.meta.url).pathname;

/** Runs phase 1 (mkdir, put, list, rename) and phase 2 (get, remove, rmdir) with S3 checked in between. */
async function scenario(
  name: string,
  phase: (n: 1 | 2, dir: string, f: LocalFile, down: string) => Promise<string>,
): Promise<{ listing: string; down: string; f: LocalFile }> {
  const h = bed.h;
  const f = makeUpload(h, `${name}.up`);
  const down = join(h.dir, `${name}.down`);
  const listing = await phase(1, name, f, down);
  await assertRenamed(h, 'alice', name, f);
  await phase(2, name, f, down);
  await assertCleanedUp(h, 'alice', name, down, f);
  return { listing, down, f };
}

describe('curl 7.88 (libssh2 1.10)', () => {
  // libssh2 1.10 signs RSA user keys with SHA-1 only (refused by the default policy): the key login uses ed25519.
  for (const mode of ['password', 'key'] as const) {
    test(`${mode}: mkdir, upload, list, rename, download, rm, rmdir`, async () => {
      const h = bed.h;
      const key = h.keys['alice']?.file ?? '';
      const auth =
        mode === 'password'
          ? ['--user', `alice:${PASSWORD}`]
          : ['--user', 'alice:', '--key', key, '--pubkey', `${key}.pub`];
      const base = ['-sS', '-k', ...auth];
      const url = `sftp://127.0.0.1:${h.port}`;
      const curl = (args: string[], what: string) =>
        runCommand('curl', [...base, ...args], { allowFailure: true, timeoutMs: 60_000 }).then((r) => {
          ok(r, `curl ${what}`);
          return r.stdout;
        });
      const { listing } = await scenario(`curl-${mode}`, async (n, dir, f, down) => {
        if (n === 1) {
          await curl(['-Q', `mkdir /${dir}`, `${url}/`], 'mkdir');
          await curl(['-T', f.path, `${url}/${dir}/f.bin`], 'upload');
          const ls = await curl([`${url}/${dir}/`], 'list');
          await curl(['-Q', `rename /${dir}/f.bin /${dir}/g.bin`, `${url}/${dir}/`], 'rename');
          return ls;
        }
        await curl(['-o', down, `${url}/${dir}/g.bin`], 'download');
        await curl(['-Q', `rm /${dir}/g.bin`, '-Q', `rmdir /${dir}`, `${url}/`], 'rm + rmdir');
        return '';
      });
      assert.match(listing, /f\.bin/);
      row(
        bed,
        'curl 7.88.1 (libssh2 1.10.0)',
        mode === 'key' ? 'key (ed25519)' : mode,
        'mkdir, put, ls, rename, get, rm, rmdir (quote commands)',
      );
    });
  }
});

describe('rclone 1.60 (Go x/crypto/ssh, pkg/sftp)', () => {
  for (const mode of ['password', 'key'] as const) {
    test(`${mode}: mkdir, copyto (mtime), lsf, moveto, copyto back, deletefile, rmdir`, async () => {
      const h = bed.h;
      const rclone = toolPath('rclone');
      let auth = `key_file=${h.keys['alice']?.file ?? ''}`;
      if (mode === 'password') {
        const obscured = await runCommand(rclone, ['obscure', PASSWORD]);
        auth = `pass=${obscured.stdout.trim()}`;
      }
      // shell_type=none: never try exec (the pod refuses it); hashes are compared by us, not rclone.
      const remote = `:sftp,host=127.0.0.1,port=${h.port},user=alice,${auth},shell_type=none,disable_hashcheck=true:`;
      const rc = (args: string[], what: string) =>
        runCommand(rclone, ['--config', '/dev/null', '--retries', '1', ...args], {
          allowFailure: true,
          timeoutMs: 60_000,
        }).then((r) => {
          ok(r, `rclone ${what}`);
          return r.stdout;
        });
      const { down, f } = await scenario(`rclone-${mode}`, async (n, dir, file, dl) => {
        if (n === 1) {
          await rc(['mkdir', `${remote}${dir}`], 'mkdir');
          await rc(['copyto', file.path, `${remote}${dir}/f.bin`], 'copyto');
          const ls = await rc(['lsf', `${remote}${dir}`], 'lsf');
          assert.match(ls, /f\.bin/);
          await rc(['moveto', `${remote}${dir}/f.bin`, `${remote}${dir}/g.bin`], 'moveto');
          return ls;
        }
        await rc(['copyto', `${remote}${dir}/g.bin`, dl], 'copyto back');
        await rc(['deletefile', `${remote}${dir}/g.bin`], 'deletefile');
        await rc(['rmdir', `${remote}${dir}`], 'rmdir');
        return '';
      });
      assert.equal(Math.floor(statSync(down).mtimeMs / 1000), f.mtime, 'rclone kept the mtime both ways');
      row(bed, 'rclone v1.60.1', mode, 'mkdir, copyto (mtime), lsf, moveto, copyto back (mtime), deletefile, rmdir');
    });
  }
});

/**
 * The scenario through a small driver program (test/e2e/clients/): `command ...prefix PORT USER CRED PHASE DIR UP
 * DOWN MTIME`, which prints one JSON line with the listing (phase 1) or the remote mtime (phase 2) and its version.
 */
async function driverScenario(client: string, command: string, prefix: string[], mode: 'password' | 'key') {
  const cred = mode === 'password' ? `password:${PASSWORD}` : `key:${bed.h.keys['alice']?.file ?? ''}`;
  let version = '';
  const { listing } = await scenario(`${client}-${mode}`, async (n, dir, f, down) => {
    const args = [...prefix, String(bed.h.port), 'alice', cred, String(n), dir, f.path, down, String(f.mtime)];
    const r = await runCommand(command, args, { allowFailure: true, timeoutMs: 120_000 });
    ok(r, `${client} phase ${n}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
      listing?: string | string[];
      mtime?: number;
      version: string;
    };
    version = out.version;
    if (n === 2) assert.equal(out.mtime, f.mtime, 'remote mtime set in phase 1');
    return [out.listing ?? ''].flat().join(' ');
  });
  assert.match(listing, /f\.bin/);
  return version;
}

describe('paramiko 5.1', () => {
  for (const mode of ['password', 'key'] as const) {
    test(`${mode}: mkdir, put, utime, listdir, rename, stat, get, remove, rmdir`, async () => {
      const py = clientTool('paramiko-python');
      const version = await driverScenario('paramiko', py, [join(DRIVERS, 'paramiko_client.py')], mode);
      row(bed, `paramiko ${version}`, mode, 'mkdir, put, utime, listdir, rename, stat (mtime), get, remove, rmdir');
    });
  }
});

describe('PuTTY psftp 0.78', () => {
  /** Host key fingerprints for -hostkey (psftp -batch refuses unknown host keys). */
  async function hostKeys(): Promise<string[]> {
    const scan = await runCommand('ssh-keyscan', ['-p', String(bed.h.port), '127.0.0.1'], { allowFailure: true });
    const file = join(bed.h.dir, 'scanned_keys');
    writeFileSync(file, scan.stdout);
    const fp = await runCommand('ssh-keygen', ['-l', '-f', file]);
    return fp.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '');
  }

  for (const mode of ['password', 'key'] as const) {
    test(`${mode}: mkdir, put, ls, mv, get, rm, rmdir`, async () => {
      const h = bed.h;
      const psftp = clientTool('psftp');
      const fps = await hostKeys();
      let auth = ['-pw', PASSWORD];
      if (mode === 'key') {
        const ppk = join(h.dir, 'alice.ppk');
        const conv = await runCommand(
          clientTool('puttygen'),
          [h.keys['alice']?.file ?? '', '-O', 'private', '-o', ppk],
          {
            allowFailure: true,
          },
        );
        ok(conv, 'puttygen');
        auth = ['-i', ppk];
      }
      const run = async (script: string, what: string) => {
        const file = join(h.dir, `psftp-${mode}-${what}.txt`);
        writeFileSync(file, script);
        const r = await runCommand(
          psftp,
          [
            '-P',
            String(h.port),
            '-l',
            'alice',
            ...auth,
            '-batch',
            '-be',
            ...fps.flatMap((f) => ['-hostkey', f]),
            '-b',
            file,
            '127.0.0.1',
          ],
          { allowFailure: true, timeoutMs: 60_000, input: '' },
        );
        ok(r, `psftp ${what}`);
        return r.stdout;
      };
      const { listing } = await scenario(`psftp-${mode}`, async (n, dir, f, down) => {
        if (n === 1)
          return run(`mkdir ${dir}\nput ${f.path} ${dir}/f.bin\nls ${dir}\nmv ${dir}/f.bin ${dir}/g.bin\n`, 'one');
        return run(`get ${dir}/g.bin ${down}\nrm ${dir}/g.bin\nrmdir ${dir}\n`, 'two');
      });
      assert.match(listing, /f\.bin/);
      row(bed, 'PuTTY psftp 0.78', mode, 'mkdir, put, ls, mv, get, rm, rmdir');
    });
  }
});

describe('JSch (com.github.mwiede:jsch)', () => {
  for (const mode of ['password', 'key'] as const) {
    test(`${mode}: mkdir, put, setMtime, ls, rename, stat, get, rm, rmdir`, async () => {
      const prefix = ['-cp', clientTool('jsch.jar'), join(DRIVERS, 'JschClient.java')];
      const version = await driverScenario('jsch', 'java', prefix, mode);
      row(bed, `JSch ${version} (mwiede)`, mode, 'mkdir, put, setMtime, ls, rename, stat (mtime), get, rm, rmdir');
    });
  }
});
