// Parses an OpenSSH public key line (authorized_keys form, no options) with ssh2's own parser, the one the sftp pod
// authenticates with: the operator accepts exactly the keys the pod can use. Around it, the checks ssh2 does not make
// (one key per entry, canonical base64, the key types the users table allows, a minimum RSA size).
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import { CodedError } from '../errors/coded-error.ts';
import { WireReader } from './wire.ts';

const { utils } = ssh2;

/** Key types the users table allows (users.schema.json's publicKeys pattern; a test keeps the two in step). */
export const KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

/** RSA keys below this size are refused: OpenSSH itself refuses < 1024, NIST deprecated < 2048. */
export const MIN_RSA_BITS = 2048;
const MAX_LINE = 16384;

export class PublicKeyError extends CodedError<'SFTPGATE_SSH_INVALID_PUBLIC_KEY'> {
  constructor(message: string, options?: ErrorOptions) {
    super('SFTPGATE_SSH_INVALID_PUBLIC_KEY', message, options);
  }
}

export interface ParsedPublicKey {
  readonly type: string;
  /** `<type> <base64> [comment]`, whitespace normalised: what goes into the users table. */
  readonly line: string;
  /** `SHA256:...` as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
  readonly comment: string;
  /** The SSH wire blob (what a client signs with and the pod compares). */
  readonly blob: Buffer;
  /** RSA modulus size; undefined for other types. */
  readonly bits?: number;
}

/** `SHA256:` fingerprint of a public key blob, as `ssh-keygen -l` prints it. */
export function fingerprintOfBlob(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function rsaBits(blob: Buffer): number {
  const r = new WireReader(blob);
  r.bytes(); // type
  r.bytes(); // e
  let n = r.bytes();
  while (n.length > 0 && n[0] === 0) n = n.subarray(1);
  return n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0] ?? 0));
}

/** Parses one key line. Throws PublicKeyError with a reason fit for a status condition (never the key itself). */
export function parsePublicKey(line: string): ParsedPublicKey {
  const fail = (msg: string, cause?: unknown): never => {
    throw new PublicKeyError(msg, cause === undefined ? undefined : { cause });
  };
  if (line.length > MAX_LINE) fail(`key line longer than ${MAX_LINE} characters`);
  if (/[\r\n]/.test(line)) fail('one key per entry: the line contains a line break');
  const [type = '', data = '', ...commentParts] = line.trim().split(/[ \t]+/);
  if (type === '') fail('empty key');
  if (!(KEY_TYPES as readonly string[]).includes(type)) {
    // Options (`from="..." ssh-ed25519 ...`) land here too: the pod does not support them.
    fail(`unsupported key type "${type.slice(0, 40)}" (authorized_keys options are not supported)`);
  }
  if (!/^[A-Za-z0-9+/]+={0,3}$/.test(data)) fail('key data is not base64');
  const raw = Buffer.from(data, 'base64');
  if (raw.toString('base64').replace(/=+$/, '') !== data.replace(/=+$/, '')) fail('key data is not canonical base64');
  let inner = '';
  try {
    inner = new WireReader(raw).string();
  } catch (err) {
    fail('key data is truncated', err);
  }
  if (inner !== type) fail(`key type "${type}" does not match the key data ("${inner.slice(0, 40)}")`);
  const parsed = utils.parseKey(`${type} ${data}`);
  if (parsed instanceof Error || Array.isArray(parsed)) {
    const why = parsed instanceof Error ? parsed.message : 'several keys';
    if (type.startsWith('sk-'))
      fail(`key type "${type}" is not supported by the sftp pod's SSH library (ssh2: ${why})`);
    fail(`malformed ${type} key data (ssh2: ${why})`, parsed);
  }
  const key = parsed as ssh2.ParsedKey;
  const blob = key.getPublicSSH();
  if (!blob.equals(raw)) fail(`malformed ${type} key data (trailing or non-canonical fields)`);
  let bits: number | undefined;
  if (type === 'ssh-rsa') {
    bits = rsaBits(blob);
    if (bits < MIN_RSA_BITS) fail(`RSA key of ${bits} bits is too small (minimum ${MIN_RSA_BITS})`);
  }
  const comment = commentParts.join(' ');
  return {
    type,
    line: comment ? `${type} ${data} ${comment}` : `${type} ${data}`,
    fingerprint: fingerprintOfBlob(blob),
    comment,
    blob,
    ...(bits !== undefined ? { bits } : {}),
  };
}
