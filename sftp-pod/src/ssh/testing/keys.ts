// Key material for tests, made by the real ssh-keygen (OpenSSH formats exactly as operators and clients produce them).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  /** Path of the private key file (for `sftp -i`). */
  readonly file: string;
  readonly privateKey: Buffer;
  /** authorized_keys line. */
  readonly publicLine: string;
}

export interface KeyDir {
  readonly dir: string;
  generate(name: string, type?: 'ed25519' | 'rsa' | 'ecdsa'): KeyPair;
  remove(): void;
}

export function makeKeyDir(prefix = 'sftpgate-keys-'): KeyDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    generate(name, type = 'ed25519') {
      const file = join(dir, name);
      const bits = type === 'rsa' ? ['-b', '3072'] : [];
      execFileSync('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-C', name, '-f', file], { stdio: 'ignore' });
      return {
        file,
        privateKey: readFileSync(file),
        publicLine: readFileSync(`${file}.pub`, 'utf8').trim(),
      };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A host key directory as the pod expects it: ssh_host_ed25519_key and ssh_host_rsa_key. */
export function makeHostKeyDir(): KeyDir {
  const keys = makeKeyDir('sftpgate-hostkeys-');
  keys.generate('ssh_host_ed25519_key', 'ed25519');
  keys.generate('ssh_host_rsa_key', 'rsa');
  return keys;
}
