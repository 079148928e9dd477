// OpenSSH user certificates (PROTOCOL.certkeys): a login may present a certificate signed by a trusted user CA instead
// of a key listed for the user. Accepted when: the CA key is trusted, its signature verifies, it is a user
// certificate, valid now, its principals include the username, it is not revoked (serial or key id), and every
// critical option is one we enforce: `source-address` is checked against the client's address; `force-command` (we
// run no commands) and `verify-required` (no FIDO support) refuse the certificate, as does any unknown option.
import { readFile } from 'node:fs/promises';
import ssh2, { type ParsedKey } from 'ssh2';
import protocolUtils from 'ssh2/lib/protocol/utils.js';
import { addressAllowed, compileCidrs } from './cidr.ts';

const { utils } = ssh2;
// ssh2's converter from SSH to DER signatures (ECDSA), the one it uses for its own publickey checks (a static import,
// so the bundle carries it: ssh2-internals.d.ts declares it).
const { sigSSHToASN1 } = protocolUtils;

/** Certificate algorithms we accept, with the plain key type embedded in each. */
const CERT_TYPES: Readonly<Record<string, string>> = {
  'ssh-ed25519-cert-v01@openssh.com': 'ssh-ed25519',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ecdsa-sha2-nistp521',
  'ssh-rsa-cert-v01@openssh.com': 'ssh-rsa',
  'rsa-sha2-256-cert-v01@openssh.com': 'ssh-rsa',
  'rsa-sha2-512-cert-v01@openssh.com': 'ssh-rsa',
};

export function isCertificateAlgorithm(algo: string): boolean {
  return algo in CERT_TYPES;
}

export interface TrustedUserCas {
  /** CA public key blobs (wire format), compared byte for byte with a certificate's signature key. */
  readonly keys: readonly Buffer[];
  readonly revokedSerials: ReadonlySet<bigint>;
  readonly revokedKeyIds: ReadonlySet<string>;
}

export type CertificateRefusal =
  | 'malformed'
  | 'untrusted-ca'
  | 'bad-ca-signature'
  | 'not-a-user-certificate'
  | 'not-yet-valid'
  | 'expired'
  | 'principal'
  | 'revoked'
  | 'force-command'
  | 'source-address'
  | 'unsupported-option';

export interface UserCertificate {
  readonly keyId: string;
  readonly serial: bigint;
  /** The certified public key, for the user's signature. */
  readonly key: ParsedKey;
}

class Reader {
  #pos = 0;
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  get pos(): number {
    return this.#pos;
  }
  u32(): number {
    if (this.#pos + 4 > this.buf.length) throw new Error('truncated');
    const v = this.buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }
  u64(): bigint {
    if (this.#pos + 8 > this.buf.length) throw new Error('truncated');
    const v = this.buf.readBigUInt64BE(this.#pos);
    this.#pos += 8;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    if (this.#pos + n > this.buf.length) throw new Error('truncated');
    const out = this.buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
  text(): string {
    return this.bytes().toString('utf8');
  }
}

const wireString = (b: Buffer | string): Buffer => {
  const data = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
};

/** Parses a `string name, string data` list (critical options, principals are plain strings). */
function stringPairs(buf: Buffer): Map<string, Buffer> {
  const r = new Reader(buf);
  const out = new Map<string, Buffer>();
  while (r.pos < buf.length) out.set(r.text(), r.bytes());
  return out;
}

function stringList(buf: Buffer): string[] {
  const r = new Reader(buf);
  const out: string[] = [];
  while (r.pos < buf.length) out.push(r.text());
  return out;
}

/** Verifies an SSH-format signature blob (`string algo, string sig`) with a parsed public key. */
export function verifySshSignature(key: ParsedKey, data: Buffer, sigBlob: Buffer): boolean {
  try {
    const r = new Reader(sigBlob);
    const algo = r.text();
    const raw = r.bytes();
    const hash = algo === 'rsa-sha2-512' ? 'sha512' : algo === 'rsa-sha2-256' ? 'sha256' : undefined;
    if (algo === 'ssh-rsa') return false; // SHA-1: refused for certificates, CAs and users alike
    if (key.type === 'ssh-rsa' && hash === undefined) return false;
    if (key.type !== 'ssh-rsa' && algo !== key.type) return false;
    const sig = key.type.startsWith('ecdsa-') ? sigSSHToASN1(raw, key.type) : raw;
    return sig !== undefined && key.verify(data, sig, hash) === true;
  } catch {
    return false;
  }
}

/** The certified key's public blob: the certificate's key fields with the plain type name in front. */
function certifiedKey(plainType: string, r: Reader): ParsedKey {
  const parts: Buffer[] = [wireString(plainType)];
  if (plainType === 'ssh-ed25519') parts.push(wireString(r.bytes()));
  else if (plainType === 'ssh-rsa')
    parts.push(wireString(r.bytes()), wireString(r.bytes())); // e, n
  else parts.push(wireString(r.bytes()), wireString(r.bytes())); // curve, Q
  const parsed = utils.parseKey(`${plainType} ${Buffer.concat(parts).toString('base64')}`);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('certified key does not parse');
  return parsed;
}

/**
 * Checks a certificate presented for `username` from `address` at `now` (ms). Returns the certificate, or the reason
 * it is refused. Pure apart from signature verification; never throws.
 */
export function checkUserCertificate(
  algo: string,
  blob: Buffer,
  username: string,
  address: string,
  cas: TrustedUserCas,
  now = Date.now(),
): UserCertificate | CertificateRefusal {
  const plainType = CERT_TYPES[algo];
  if (!plainType) return 'malformed';
  let cert: UserCertificate;
  let options: Map<string, Buffer>;
  try {
    const r = new Reader(blob);
    const type = r.text();
    if (CERT_TYPES[type] !== plainType) return 'malformed';
    r.bytes(); // nonce
    const key = certifiedKey(plainType, r);
    const serial = r.u64();
    const certType = r.u32();
    const keyId = r.text();
    const principals = stringList(r.bytes());
    const validAfter = r.u64();
    const validBefore = r.u64();
    options = stringPairs(r.bytes());
    r.bytes(); // extensions: permissions for shells and forwarding, none of which we offer
    r.bytes(); // reserved
    const caBlob = r.bytes();
    const signed = blob.subarray(0, r.pos);
    const signature = r.bytes();
    if (r.pos !== blob.length) return 'malformed';
    if (!cas.keys.some((k) => k.equals(caBlob))) return 'untrusted-ca';
    const caType = new Reader(caBlob).text();
    const ca = utils.parseKey(`${caType} ${caBlob.toString('base64')}`);
    if (ca instanceof Error || Array.isArray(ca) || !verifySshSignature(ca, signed, signature))
      return 'bad-ca-signature';
    if (certType !== 1) return 'not-a-user-certificate';
    const seconds = BigInt(Math.floor(now / 1000));
    if (seconds < validAfter) return 'not-yet-valid';
    if (seconds >= validBefore) return 'expired';
    if (!principals.includes(username)) return 'principal';
    if (cas.revokedSerials.has(serial) || cas.revokedKeyIds.has(keyId)) return 'revoked';
    cert = { keyId, serial, key };
  } catch {
    return 'malformed';
  }
  for (const [name, value] of options) {
    if (name === 'force-command') return 'force-command';
    if (name !== 'source-address') return 'unsupported-option';
    try {
      const cidrs = new Reader(value).text().split(',');
      if (!addressAllowed(compileCidrs(cidrs), address)) return 'source-address';
    } catch {
      return 'source-address';
    }
  }
  return cert;
}

/**
 * Reads the trusted CA file (authorized_keys lines) and the revocation file (`serial:<n>` or `id:<key id>` per line;
 * `#` comments). Throws on a line that does not parse: a typo must not silently trust nothing or revoke nothing.
 */
export function parseTrustedUserCas(caText: string, revokedText = ''): TrustedUserCas {
  const keys: Buffer[] = [];
  for (const line of caText.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const parsed = utils.parseKey(line);
    if (parsed instanceof Error || Array.isArray(parsed))
      throw new Error(`trusted user CA key does not parse: ${line.slice(0, 40)}`);
    keys.push(parsed.getPublicSSH());
  }
  const revokedSerials = new Set<bigint>();
  const revokedKeyIds = new Set<string>();
  for (const line of revokedText.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(serial|id):(.+)$/.exec(line);
    if (!m?.[2]) throw new Error(`revocation line must be serial:<n> or id:<key id>: ${line.slice(0, 40)}`);
    if (m[1] === 'serial') revokedSerials.add(BigInt(m[2]));
    else revokedKeyIds.add(m[2]);
  }
  return { keys, revokedSerials, revokedKeyIds };
}

/** A revocation file that does not exist (yet) means no revocations; any other read error is an error. */
async function optionalText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/**
 * Loads --trusted-user-ca-keys and --revoked-user-certificates, then re-reads both every `pollMs` until `signal`
 * aborts, so a revocation (or a new CA) applies to the next login within about a second, without a restart. A file
 * that no longer parses is logged and ignored: the last valid set stays. Undefined when no CA file is configured;
 * throws at startup when a file is missing or does not parse.
 */
export async function loadTrustedUserCas(
  caFile: string | undefined,
  revokedFile: string | undefined,
  options: { signal?: AbortSignal; pollMs?: number; onError?: (err: unknown) => void } = {},
): Promise<TrustedUserCas | undefined> {
  if (!caFile) return undefined;
  const read = async () => {
    const [ca, revoked] = await Promise.all([readFile(caFile, 'utf8'), revokedFile ? optionalText(revokedFile) : '']);
    return { text: `${ca}\0${revoked}`, cas: () => parseTrustedUserCas(ca, revoked) };
  };
  const first = await read();
  let text = first.text;
  let current = first.cas();
  if (options.signal) {
    const timer = setInterval(() => {
      read()
        .then(
          (next) => {
            if (next.text === text) return;
            text = next.text;
            current = next.cas();
          },
          (err: unknown) => options.onError?.(err),
        )
        .catch((err: unknown) => options.onError?.(err));
    }, options.pollMs ?? 1000);
    timer.unref();
    options.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
  // Always the latest valid set: the authenticator holds this object for the pod's lifetime.
  return {
    get keys() {
      return current.keys;
    },
    get revokedSerials() {
      return current.revokedSerials;
    },
    get revokedKeyIds() {
      return current.revokedKeyIds;
    },
  };
}
