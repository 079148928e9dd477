// Password hashes for the users table: `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>` (docs/users-table.md).
//
// The salt is derived, not random: SHA-256 over the password Secret's uid and resourceVersion and the username.
// That keeps the table content-derived (re-running a reconcile reproduces the same hash, so nothing is written)
// while a changed password (new resourceVersion) gets a fresh salt. The salt never depends on the password itself,
// so it gives an attacker holding the table nothing cheaper to test guesses against than scrypt.
import { createHash, scrypt } from 'node:crypto';
import { IMPORTED_HASH_LIMITS, parseImportedHash } from '../../../common/src/users/imported-hash.ts';
import { InvalidPasswordError } from './errors.ts';

export interface ScryptParams {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

/** ~32 MiB and ~0.1 s per hash: OWASP's scrypt baseline; also the cost of the pod's decoy check. */
export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

function derive(password: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  return new Promise((resolve, reject) => {
    scrypt(
      password,
      salt,
      KEY_LENGTH,
      { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

/** What identifies one version of a password: the Secret's uid + resourceVersion and the user it is for. */
export interface PasswordSource {
  readonly secretUid: string;
  readonly resourceVersion: string;
  readonly username: string;
  /** `Hash`: the Secret holds a hash imported from another system (passwordSecretRef.format); default Plaintext. */
  readonly format?: 'Plaintext' | 'Hash';
}

const L = IMPORTED_HASH_LIMITS;
const IMPORT_FORMATS =
  `bcrypt ($2a$/$2b$/$2y$, cost ${L.bcryptCost.min}-${L.bcryptCost.max}), argon2id (PHC string, m <= ` +
  `${L.argon2.maxMemoryKiB} KiB, t <= ${L.argon2.maxIterations}, p <= ${L.argon2.maxParallelism}) or sha512-crypt ` +
  `($6$, rounds ${L.sha512Rounds.min}-${L.sha512Rounds.max})`;

/** An imported hash, checked and copied as it is. Throws InvalidPasswordError (never quoting the value). */
export function importedHash(value: Buffer): string {
  const text = value.toString('utf8').trim();
  if (!parseImportedHash(text))
    throw new InvalidPasswordError(`format Hash: not a supported hash; use ${IMPORT_FORMATS}`);
  return text;
}

export function saltFor(source: PasswordSource): Buffer {
  return createHash('sha256')
    .update(`sftpgate-scrypt-salt\0${source.secretUid}\0${source.resourceVersion}\0${source.username}`)
    .digest()
    .subarray(0, 16);
}

/** Refuses empty, too short or too long passwords (InvalidPasswordError; message never contains the value). */
export function checkPassword(password: Buffer): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new InvalidPasswordError(`password is shorter than ${MIN_PASSWORD_LENGTH} bytes`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new InvalidPasswordError(`password is longer than ${MAX_PASSWORD_LENGTH} bytes`);
  }
}

/** Deterministic for a given (password, source, params). Throws InvalidPasswordError for an unusable password. */
export async function hashPassword(
  password: Buffer,
  source: PasswordSource,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<string> {
  checkPassword(password);
  const salt = saltFor(source);
  const key = await derive(password, salt, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/**
 * Memoises hashes by source (uid/resourceVersion/username) so a resync costs no scrypt. The password bytes are part
 * of the key only as a SHA-256 digest, held in memory; a Secret edit changes resourceVersion and so misses the cache.
 * Bounded: oldest entries are dropped beyond `max`.
 */
export class PasswordHasher {
  #cache = new Map<string, Promise<string>>();
  #max: number;
  #params: ScryptParams;
  constructor(options: { max?: number; params?: ScryptParams } = {}) {
    this.#max = options.max ?? 100_000;
    this.#params = options.params ?? DEFAULT_SCRYPT;
  }
  get size(): number {
    return this.#cache.size;
  }
  hash(password: Buffer, source: PasswordSource): Promise<string> {
    if (source.format === 'Hash') {
      try {
        return Promise.resolve(importedHash(password));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const digest = createHash('sha256').update(password).digest('hex');
    const key = `${source.secretUid}\0${source.resourceVersion}\0${source.username}\0${digest}`;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const p = hashPassword(password, source, this.#params);
    p.catch(() => this.#cache.delete(key));
    this.#cache.set(key, p);
    if (this.#cache.size > this.#max) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    return p;
  }
}
