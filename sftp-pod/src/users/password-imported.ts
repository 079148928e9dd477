// Verification of password hashes imported for migration (parsed and bounded by common/src/users/imported-hash.ts).
// Runs in password-worker.ts so a slow hash never blocks the event loop. argon2id is Node's own (OpenSSL 3.5);
// bcrypt is hash-wasm's WebAssembly build; sha512-crypt is implemented here.
import { argon2, createHash, timingSafeEqual } from 'node:crypto';
import { bcrypt } from 'hash-wasm';
import type { ImportedHash } from '../../../common/src/users/imported-hash.ts';

export { type ImportedHash, parseImportedHash } from '../../../common/src/users/imported-hash.ts';

const CRYPT64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const sha512 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `n` bytes of `block` repeated. */
const repeatTo = (block: Buffer, n: number): Buffer =>
  Buffer.concat(Array.from({ length: Math.ceil(n / block.length) }, () => block)).subarray(0, n);

// The byte order of sha512-crypt's final encoding (Drepper, "Unix crypt using SHA-256 and SHA-512", step 22).
const SHA512_ORDER = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
] as const;

function crypt64(b2: number, b1: number, b0: number, chars: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < chars; i++) {
    out += CRYPT64[w & 0x3f];
    w >>= 6;
  }
  return out;
}

/** The 86-character sha512-crypt hash of `password` (glibc's `$6$` algorithm). */
export function sha512Crypt(password: Buffer, salt: Buffer, rounds: number): string {
  const p = password;
  const s = salt.subarray(0, 16);
  const b = sha512(p, s, p);
  const a = createHash('sha512').update(p).update(s);
  a.update(repeatTo(b, p.length));
  for (let n = p.length; n > 0; n >>= 1) a.update(n & 1 ? b : p);
  let c = a.digest();
  const pBytes = repeatTo(sha512(...Array.from({ length: p.length }, () => p)), p.length);
  const sBytes = repeatTo(sha512(...Array.from({ length: 16 + (c[0] ?? 0) }, () => s)), s.length);
  for (let r = 0; r < rounds; r++) {
    const h = createHash('sha512');
    h.update(r & 1 ? pBytes : c);
    if (r % 3) h.update(sBytes);
    if (r % 7) h.update(pBytes);
    h.update(r & 1 ? c : pBytes);
    c = h.digest();
  }
  let out = '';
  for (const [i, j, k] of SHA512_ORDER) out += crypt64(c[i] ?? 0, c[j] ?? 0, c[k] ?? 0, 4);
  return out + crypt64(0, 0, c[63] ?? 0, 2);
}

const equal = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

/** Verifies in constant time with respect to the hash. Never throws for a wrong password; false instead. */
export async function verifyImported(password: string, h: ImportedHash): Promise<boolean> {
  const pw = Buffer.from(password, 'utf8');
  if (pw.length === 0) return false;
  switch (h.kind) {
    case 'bcrypt': {
      // $2b$ semantics: only the first 72 bytes count (as in OpenBSD, PAM and SFTPGo's Go bcrypt).
      const out = await bcrypt({
        password: pw.subarray(0, 72),
        salt: h.salt,
        costFactor: h.cost,
        outputType: 'encoded',
      });
      return equal(Buffer.from(out.slice(-31)), Buffer.from(h.hash));
    }
    case 'argon2id': {
      const out = await new Promise<Buffer>((resolve, reject) =>
        argon2(
          'argon2id',
          {
            message: pw,
            nonce: h.salt,
            parallelism: h.parallelism,
            passes: h.iterations,
            memory: h.memoryKiB,
            tagLength: h.hash.length,
          },
          (err, key) => (err ? reject(err) : resolve(key)),
        ),
      );
      return equal(out, h.hash);
    }
    case 'sha512-crypt':
      return equal(Buffer.from(sha512Crypt(pw, h.salt, h.rounds)), Buffer.from(h.hash));
  }
}
