// Password hashes imported for migration (docs/users-table.md): bcrypt (`$2a$`, `$2b$`, `$2y$`), argon2id
// (`$argon2id$v=19$...`, PHC string) and sha512-crypt (`$6$[rounds=N$]salt$hash`), as SFTPGo, OpenSSH/PAM systems and
// identity providers store them. Parsing is pure and bounds the cost parameters (a tenant writes them, and every
// login attempt pays them); verification runs in password-worker.ts so a slow hash never blocks the event loop.
// argon2id is Node's own (OpenSSL 3.5); bcrypt is hash-wasm's WebAssembly build; sha512-crypt is implemented here.
import { argon2, createHash, timingSafeEqual } from 'node:crypto';
import { bcrypt } from 'hash-wasm';

/** Cost bounds: about one second of CPU at most per attempt on a small core, and argon2 memory within the pod's. */
export const IMPORTED_HASH_LIMITS = {
  bcryptCost: { min: 4, max: 14 },
  argon2: { maxMemoryKiB: 65_536, maxIterations: 10, maxParallelism: 16 },
  sha512Rounds: { min: 1000, max: 100_000 },
} as const;

export type ImportedHash =
  | { readonly kind: 'bcrypt'; readonly cost: number; readonly salt: Buffer; readonly hash: string }
  | {
      readonly kind: 'argon2id';
      readonly memoryKiB: number;
      readonly iterations: number;
      readonly parallelism: number;
      readonly salt: Buffer;
      readonly hash: Buffer;
    }
  | { readonly kind: 'sha512-crypt'; readonly rounds: number; readonly salt: Buffer; readonly hash: string };

const CRYPT64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BCRYPT64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const BCRYPT = /^\$2[aby]\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;
const ARGON2ID =
  /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]{11,64})\$([A-Za-z0-9+/]{22,86})$/;
const SHA512 = /^\$6\$(?:rounds=(\d{1,9})\$)?([^$:\n]{1,16})\$([./A-Za-z0-9]{86})$/;

/** bcrypt's own base64 (no padding, its alphabet) → bytes. */
function bcryptDecode(text: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (const ch of text) {
    acc = (acc << 6) | BCRYPT64.indexOf(ch);
    bits += 6;
    if (bits >= 8 && n < bytes) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Parses an imported hash; undefined when the text is none of the three formats or its cost is out of bounds. */
export function parseImportedHash(text: string): ImportedHash | undefined {
  const L = IMPORTED_HASH_LIMITS;
  let m = BCRYPT.exec(text);
  if (m) {
    const cost = Number(m[1]);
    if (cost < L.bcryptCost.min || cost > L.bcryptCost.max) return undefined;
    return { kind: 'bcrypt', cost, salt: bcryptDecode(m[2] ?? '', 16), hash: m[3] ?? '' };
  }
  m = ARGON2ID.exec(text);
  if (m) {
    const [memoryKiB, iterations, parallelism] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const salt = Buffer.from(m[4] ?? '', 'base64');
    const hash = Buffer.from(m[5] ?? '', 'base64');
    if (parallelism < 1 || parallelism > L.argon2.maxParallelism) return undefined;
    if (iterations < 1 || iterations > L.argon2.maxIterations) return undefined;
    if (memoryKiB < 8 * parallelism || memoryKiB > L.argon2.maxMemoryKiB) return undefined;
    if (salt.length < 8 || hash.length < 16 || hash.length > 64) return undefined;
    return { kind: 'argon2id', memoryKiB, iterations, parallelism, salt, hash };
  }
  m = SHA512.exec(text);
  if (m) {
    const rounds = m[1] === undefined ? 5000 : Number(m[1]);
    // glibc clamps rounds below 1000 up; a hash written with a clamp would not match ours, so refuse it instead.
    if (rounds < L.sha512Rounds.min || rounds > L.sha512Rounds.max) return undefined;
    return { kind: 'sha512-crypt', rounds, salt: Buffer.from(m[2] ?? '', 'latin1'), hash: m[3] ?? '' };
  }
  return undefined;
}

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
