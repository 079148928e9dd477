// Host keys for an SftpServer: generated once by the operator (node:crypto), stored in a Secret as OpenSSH
// "openssh-key-v1" private keys — the format the pod (ssh2) and `ssh-keygen` read — and never regenerated.
import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { fingerprintOfBlob } from '../../../common/src/ssh/public-key.ts';
import { sshMpint, sshString, sshUint32, WireReader } from '../../../common/src/ssh/wire.ts';
import { InvalidHostKeyError } from './errors.ts';

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

const b64url = (s: string | undefined): Buffer => {
  if (s === undefined) throw new InvalidHostKeyError('JWK export is missing a component');
  return Buffer.from(s, 'base64url');
};

/** The SSH public key blob and the private fields of the openssh-key-v1 private section for a key pair. */
function sshParts(key: KeyObject): { type: string; publicBlob: Buffer; privateFields: Buffer } {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    const pub = b64url(jwk.x);
    const seed = b64url(jwk.d);
    const type = 'ssh-ed25519';
    return {
      type,
      publicBlob: Buffer.concat([sshString(type), sshString(pub)]),
      // ed25519 private key in OpenSSH is seed || public key (64 bytes).
      privateFields: Buffer.concat([sshString(pub), sshString(Buffer.concat([seed, pub]))]),
    };
  }
  if (jwk.kty === 'RSA') {
    const [n, e, d, p, q, qi] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.qi].map(b64url) as [
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
    ];
    const type = 'ssh-rsa';
    return {
      type,
      publicBlob: Buffer.concat([sshString(type), sshMpint(e), sshMpint(n)]),
      privateFields: Buffer.concat([sshMpint(n), sshMpint(e), sshMpint(d), sshMpint(qi), sshMpint(p), sshMpint(q)]),
    };
  }
  throw new InvalidHostKeyError(`unsupported key type ${jwk.kty ?? 'unknown'}`);
}

export { fingerprintOfBlob };

/** Encodes a private key as an unencrypted openssh-key-v1 PEM. The check integers are random, as OpenSSH does. */
export function toOpenSshPrivateKey(key: KeyObject, comment = ''): string {
  const { type, publicBlob, privateFields } = sshParts(key);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, sshString(type), privateFields, sshString(comment)]);
  const padLen = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: padLen }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    sshUint32(1),
    sshString(publicBlob),
    sshString(priv),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

function describe(type: HostKeyType, key: KeyObject, comment: string): GeneratedHostKey {
  const { type: sshType, publicBlob } = sshParts(key);
  return {
    type,
    privateKey: toOpenSshPrivateKey(key, comment),
    publicKey: `${sshType} ${publicBlob.toString('base64')}`,
    fingerprint: fingerprintOfBlob(publicBlob),
  };
}

/** Generates one host key. Not idempotent by nature: callers generate only when the Secret has no such key. */
export function generateHostKey(type: HostKeyType, comment = 'sftpgate'): GeneratedHostKey {
  const { privateKey } =
    type === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('rsa', { modulusLength: RSA_HOST_KEY_BITS, publicExponent: 0x10001 });
  return describe(type, privateKey, comment);
}

/**
 * Reads an openssh-key-v1 private key (unencrypted) back into its public key and fingerprint; used to report
 * fingerprints in status and to refuse a Secret someone edited into garbage. Throws InvalidHostKeyError.
 */
export function inspectOpenSshPrivateKey(pem: string): { publicKey: string; fingerprint: string; type: string } {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(pem);
  if (!m) throw new InvalidHostKeyError('not an OpenSSH private key (missing BEGIN OPENSSH PRIVATE KEY)');
  const body = Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64');
  const magic = Buffer.from('openssh-key-v1\0', 'latin1');
  if (!body.subarray(0, magic.length).equals(magic)) throw new InvalidHostKeyError('bad openssh-key-v1 magic');
  let cipher: string;
  let count: number;
  let blob: Buffer;
  let type: string;
  try {
    const r = new WireReader(body.subarray(magic.length));
    cipher = r.string();
    r.bytes(); // kdf name
    r.bytes(); // kdf options
    count = r.u32();
    blob = r.bytes();
    type = new WireReader(blob).string();
  } catch (cause) {
    throw new InvalidHostKeyError('truncated or multi-key openssh-key-v1 body', { cause });
  }
  if (cipher !== 'none') throw new InvalidHostKeyError('encrypted host keys are not supported');
  if (count !== 1) throw new InvalidHostKeyError('truncated or multi-key openssh-key-v1 body');
  return { type, publicKey: `${type} ${blob.toString('base64')}`, fingerprint: fingerprintOfBlob(blob) };
}
