// Host keys from files (the operator mounts them from a Secret; every replica gets the same keys).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';

// ssh2 is CommonJS without static named exports for Node's ESM loader: take members off the default export.
const { utils } = ssh2;

export class HostKeyError extends Error {
  readonly code = 'SFTPGATE_HOST_KEYS';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HostKeyError';
  }
}

export interface HostKey {
  readonly file: string;
  readonly type: string;
  /** `SHA256:...` as ssh-keygen -l prints it. */
  readonly fingerprint: string;
  readonly pem: Buffer;
}

const FILE = /^ssh_host_(ed25519|rsa|ecdsa)_key$/;

/**
 * Loads every `ssh_host_{ed25519,rsa,ecdsa}_key` in the directory. Throws HostKeyError when a file does not parse,
 * is encrypted, or when neither an ed25519 nor an RSA key is present.
 */
export async function loadHostKeys(dir: string): Promise<HostKey[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => FILE.test(n)).sort();
  } catch (cause) {
    throw new HostKeyError(`cannot read host key directory ${dir}`, { cause });
  }
  const keys: HostKey[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const pem = await readFile(file);
    const parsed = utils.parseKey(pem);
    if (parsed instanceof Error || Array.isArray(parsed)) {
      throw new HostKeyError(`host key ${file} does not parse as one unencrypted private key`, {
        cause: parsed instanceof Error ? parsed : undefined,
      });
    }
    if (!parsed.isPrivateKey()) throw new HostKeyError(`host key ${file} is not a private key`);
    const fp = createHash('sha256').update(parsed.getPublicSSH()).digest('base64').replace(/=+$/, '');
    keys.push({ file, type: parsed.type, fingerprint: `SHA256:${fp}`, pem });
  }
  if (!keys.some((k) => k.type === 'ssh-ed25519' || k.type === 'ssh-rsa')) {
    throw new HostKeyError(`no ssh_host_ed25519_key or ssh_host_rsa_key in ${dir}`);
  }
  return keys;
}
