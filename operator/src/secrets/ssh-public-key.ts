// Parses and validates the authorized key lines of an SftpUser. The API server can only check the shape; this
// decodes the blob, so a wrong key becomes a status condition (reason InvalidAuthorizedKey) and never a crash.
import { InvalidAuthorizedKeyError } from './errors.ts';
import { fingerprintOfBlob } from './host-keys.ts';
import { SshReader } from './ssh-wire.ts';

/** Key types the pod accepts (users.schema.json publicKeys pattern). */
export const SUPPORTED_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
] as const;

/**
 * FIDO security-key types: the pod's ssh2 cannot verify their signatures, so they are refused (also at admission,
 * by the CRD) rather than shown Ready for a login that could never succeed.
 */
export const REFUSED_SK_KEY_TYPES = ['sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'] as const;

/** RSA keys below this size are refused: OpenSSH itself refuses < 1024, NIST deprecated < 2048. */
export const MIN_RSA_BITS = 2048;

export interface ParsedPublicKey {
  readonly type: string;
  /** `<type> <base64> [comment]`, whitespace normalised: what goes into the users table. */
  readonly line: string;
  readonly fingerprint: string;
  readonly comment: string;
  /** RSA modulus size; undefined for other types. */
  readonly bits?: number;
}

const MAX_LINE = 16384;

/** Parses one authorized_keys line. Throws InvalidAuthorizedKeyError naming the index and the problem. */
export function parseAuthorizedKey(line: string, index = 0): ParsedPublicKey {
  const fail = (msg: string): never => {
    throw new InvalidAuthorizedKeyError(index, msg);
  };
  if (line.length > MAX_LINE) fail(`key line longer than ${MAX_LINE} characters`);
  if (/[\r\n]/.test(line)) fail('one key per entry: the line contains a line break');
  const parts = line.trim().split(/[ \t]+/);
  const [type = '', data = '', ...commentParts] = parts;
  if (type === '') fail('empty key');
  if ((REFUSED_SK_KEY_TYPES as readonly string[]).includes(type)) {
    fail(`FIDO security-key type "${type}" is not supported: the SFTP server cannot verify its signatures`);
  }
  if (!(SUPPORTED_KEY_TYPES as readonly string[]).includes(type)) {
    // Options (`from="..." ssh-ed25519 ...`) land here too: the pod does not support them.
    fail(`unsupported key type "${type.slice(0, 40)}" (authorized_keys options are not supported)`);
  }
  if (!/^[A-Za-z0-9+/]+={0,3}$/.test(data)) fail('key data is not base64');
  const blob = Buffer.from(data, 'base64');
  if (blob.toString('base64').replace(/=+$/, '') !== data.replace(/=+$/, '')) fail('key data is not canonical base64');
  const r = new SshReader(blob);
  const inner = r.string()?.toString('latin1');
  if (inner === undefined) fail('key data is truncated');
  if (inner !== type) fail(`key type "${type}" does not match the key data ("${String(inner).slice(0, 40)}")`);
  let bits: number | undefined;
  if (type === 'ssh-ed25519') {
    const pub = r.string();
    if (pub?.length !== 32 || r.remaining !== 0) fail('malformed ssh-ed25519 key data');
  } else if (type === 'ssh-rsa') {
    const e = r.string();
    const n = r.string();
    if (e === undefined || n === undefined || r.remaining !== 0) fail('malformed ssh-rsa key data');
    let mod = n as Buffer;
    while (mod.length > 0 && mod[0] === 0) mod = mod.subarray(1);
    bits = mod.length === 0 ? 0 : (mod.length - 1) * 8 + (32 - Math.clz32(mod[0] ?? 0));
    if (bits < MIN_RSA_BITS) fail(`RSA key of ${bits} bits is too small (minimum ${MIN_RSA_BITS})`);
  } else if (type.startsWith('ecdsa-sha2-')) {
    const curve = r.string()?.toString('latin1');
    const point = r.string();
    if (curve !== type.slice('ecdsa-sha2-'.length) || point === undefined || r.remaining !== 0) {
      fail(`malformed ${type} key data`);
    }
  }
  const comment = commentParts.join(' ');
  return {
    type,
    line: comment ? `${type} ${data} ${comment}` : `${type} ${data}`,
    fingerprint: fingerprintOfBlob(blob),
    comment,
    ...(bits !== undefined ? { bits } : {}),
  };
}

export interface AuthorizedKeysResult {
  readonly keys: readonly ParsedPublicKey[];
  readonly errors: readonly InvalidAuthorizedKeyError[];
}

/** Parses every line; collects all errors (so status can name each bad key) instead of stopping at the first. */
export function parseAuthorizedKeys(lines: readonly string[]): AuthorizedKeysResult {
  const keys: ParsedPublicKey[] = [];
  const errors: InvalidAuthorizedKeyError[] = [];
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    try {
      const k = parseAuthorizedKey(line, i);
      if (seen.has(k.fingerprint)) errors.push(new InvalidAuthorizedKeyError(i, `duplicate key ${k.fingerprint}`));
      else keys.push(k);
      seen.add(k.fingerprint);
    } catch (err) {
      if (err instanceof InvalidAuthorizedKeyError) errors.push(err);
      else throw err;
    }
  });
  return { keys, errors };
}
