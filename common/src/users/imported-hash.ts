// Password hashes imported for migration (docs/users-table.md): bcrypt (`$2a$`, `$2b$`, `$2y$`), argon2id
// (`$argon2id$v=19$...`, PHC string) and sha512-crypt (`$6$[rounds=N$]salt$hash`), as SFTPGo, OpenSSH/PAM systems and
// identity providers store them. Parsing only, and pure: the operator checks a tenant's hash with it before it enters
// the users table, the pod before it verifies one. The cost parameters are bounded because a tenant writes them and
// every login attempt pays them.
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
