// Host keys for an SftpServer: generated once by the operator with ssh2's own generator (the library the pod loads
// them with), stored in a Secret as OpenSSH "openssh-key-v1" private keys — the format the pod and `ssh-keygen`
// read — and never regenerated.
import ssh2 from 'ssh2';
import { fingerprintOfBlob } from '../../../common/src/ssh/public-key.ts';
import { InvalidHostKeyError } from './errors.ts';

const { utils } = ssh2;

export type HostKeyType = 'ed25519' | 'rsa';

/** File names in the pod's host-key directory (docs/sftp-pod-config.md) and keys of the host-keys Secret. */
export const HOST_KEY_FILES: Readonly<Record<HostKeyType, string>> = {
  ed25519: 'ssh_host_ed25519_key',
  rsa: 'ssh_host_rsa_key',
};

export const RSA_HOST_KEY_BITS = 3072;

export interface GeneratedHostKey {
  readonly type: HostKeyType;
  /** openssh-key-v1 PEM text, unencrypted. */
  readonly privateKey: string;
  /** authorized_keys style line: `<type> <base64>`. */
  readonly publicKey: string;
  /** `SHA256:<base64 no padding>` exactly as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
}

const OPENSSH_PEM = /-----BEGIN OPENSSH PRIVATE KEY-----[\s\S]*?-----END OPENSSH PRIVATE KEY-----/;

/** Parses an unencrypted OpenSSH private key with ssh2, as the pod will. Throws InvalidHostKeyError. */
function parsePrivate(pem: string): { type: string; publicKey: string; fingerprint: string } {
  if (!OPENSSH_PEM.test(pem)) {
    throw new InvalidHostKeyError('not an OpenSSH private key (missing BEGIN OPENSSH PRIVATE KEY)');
  }
  const parsed = utils.parseKey(pem);
  if (parsed instanceof Error) {
    throw new InvalidHostKeyError(`not a usable OpenSSH private key: ${parsed.message}`, { cause: parsed });
  }
  if (Array.isArray(parsed) || !parsed.isPrivateKey()) {
    throw new InvalidHostKeyError('expected exactly one unencrypted private key');
  }
  const blob = parsed.getPublicSSH();
  return {
    type: parsed.type,
    publicKey: `${parsed.type} ${blob.toString('base64')}`,
    fingerprint: fingerprintOfBlob(blob),
  };
}

/** What generateHostKey draws a key pair from (ssh2's generator; injectable for the retry's unit test). */
export type KeyPairGenerator = (type: HostKeyType, comment: string) => { private: string };

const ssh2Generator: KeyPairGenerator = (type, comment) =>
  type === 'ed25519'
    ? utils.generateKeyPairSync('ed25519', { comment })
    : utils.generateKeyPairSync('rsa', { bits: RSA_HOST_KEY_BITS, comment });

/** Fresh draws before giving up; one draw fails with probability ~1/200, so 8 in a row is ~1e-18. */
export const HOST_KEY_ATTEMPTS = 8;

/**
 * Generates one host key. Not idempotent by nature: callers generate only when the Secret has no such key.
 * ssh2's generator writes an ed25519 key whose public half starts with a zero byte 31 bytes long (measured: 24 of
 * 5,000 draws), which ssh2 itself and OpenSSH then refuse; such a draw is discarded and a fresh key drawn.
 */
export function generateHostKey(
  type: HostKeyType,
  comment = 'sftpgate',
  generate: KeyPairGenerator = ssh2Generator,
): GeneratedHostKey {
  for (let attempt = 1; ; attempt++) {
    const pair = generate(type, comment);
    try {
      const { publicKey, fingerprint } = parsePrivate(pair.private);
      return { type, privateKey: pair.private, publicKey, fingerprint };
    } catch (err) {
      if (!(err instanceof InvalidHostKeyError) || attempt >= HOST_KEY_ATTEMPTS) throw err;
    }
  }
}

/**
 * Reads an openssh-key-v1 private key (unencrypted) back into its public key and fingerprint; used to report
 * fingerprints in status and to refuse a Secret someone edited into garbage. Throws InvalidHostKeyError.
 */
export function inspectOpenSshPrivateKey(pem: string): { publicKey: string; fingerprint: string; type: string } {
  return parsePrivate(pem);
}
