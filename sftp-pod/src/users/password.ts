// Password hashes: `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt b64>$<key b64>` (docs/users-table.md), the operator's own,
// and hashes imported for migration (bcrypt, argon2id, sha512-crypt: password-imported.ts, verified in a worker
// thread). The pod only verifies; hashPassword exists for the standalone tooling and tests.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
// Type only: node:worker_threads (+1.7 MiB RSS) loads when the first imported hash is verified, not at start.
import type { Worker } from 'node:worker_threads';
// From common, not password-imported.ts: that module carries hash-wasm (WebAssembly as base64 source), which only
// the worker needs; importing it here put 215 KiB of source into every pod's heap at start.
import { parseImportedHash } from '../../../common/src/users/imported-hash.ts';

const scryptAsync = promisify(scrypt) as (
  password: string | Buffer,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const KEY_LENGTH = 32;

export interface ScryptHash {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

export function parseScryptHash(text: string): ScryptHash | undefined {
  const m = FORMAT.exec(text);
  if (!m) return undefined;
  const [, ln, r, p, salt, key] = m;
  const parsed = {
    ln: Number(ln),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt ?? '', 'base64'),
    key: Buffer.from(key ?? '', 'base64'),
  };
  if (parsed.ln < 1 || parsed.ln > 17 || parsed.r < 1 || parsed.p < 1 || parsed.p > 16) return undefined;
  if (parsed.key.length !== KEY_LENGTH || parsed.salt.length < 8) return undefined;
  return parsed;
}

function derive(password: string, h: { ln: number; r: number; p: number; salt: Buffer }): Promise<Buffer> {
  const N = 2 ** h.ln;
  return scryptAsync(password, h.salt, KEY_LENGTH, { N, r: h.r, p: h.p, maxmem: 256 * N * h.r + 1024 * 1024 });
}

export async function hashPassword(password: string, params = { ln: 15, r: 8, p: 1 }): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, { ...params, salt });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

// A fixed, valid hash with the operator's default cost: unknown users and key-only users are checked against it so
// that a failed password login costs the same time whether or not the user exists.
const DECOY = {
  ln: 15,
  r: 8,
  p: 1,
  salt: Buffer.from('c2Z0cGdhdGUtZGVjb3ktc2FsdA', 'base64'),
  key: Buffer.alloc(KEY_LENGTH),
};

/**
 * Verifies in constant time. `hash` undefined (unknown user or no password set) still runs one scrypt at default cost
 * and returns false. Never throws for a malformed hash: it is a failed login.
 */
export async function verifyPassword(password: string, hash: string | null | undefined): Promise<boolean> {
  const parsed = hash ? parseScryptHash(hash) : undefined;
  if (!parsed && hash && parseImportedHash(hash)) return verifyInWorker(password, hash);
  const target = parsed ?? DECOY;
  const key = await derive(password, target);
  return timingSafeEqual(key, target.key) && parsed !== undefined;
}

// One lazily started worker for imported hashes; requests queue in the worker (one CPU-bound verification at a
// time: the defender and --max-auth-tries bound how many arrive).
let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, (ok: boolean) => void>();

function imported(): Worker {
  if (worker) return worker;
  // .ts beside the sources, .js in the compiled build.
  const ext = extname(fileURLToPath(import.meta.url));
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const w: Worker = new Worker(new URL(`./password-worker${ext}`, import.meta.url));
  w.on('message', (m: { id: number; ok: boolean }) => {
    pending.get(m.id)?.(m.ok === true);
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
  });
  const fail = () => {
    // A crashed worker fails its pending logins (never admits them) and is replaced on the next attempt.
    if (worker === w) worker = undefined;
    for (const resolve of pending.values()) resolve(false);
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', fail);
  worker = w;
  return w;
}

function verifyInWorker(password: string, hash: string): Promise<boolean> {
  return new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    const w = imported();
    // Referenced only while a verification is pending: an idle worker never keeps the process alive.
    w.ref();
    w.postMessage({ id, password, hash });
  });
}
