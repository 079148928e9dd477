// Builds the users table Secrets' documents (docs/users-table.md): sorted, content-derived, sharded by a stable
// hash of the username so that adding one user rewrites one shard, with every shard under SHARD_LIMIT_BYTES.
import { createHash } from 'node:crypto';
import type { UsersTableUser } from '../../../common/src/users/types.ts';
import { UsersTableTooLargeError } from './errors.ts';

/** Each shard's users.json stays under this: a Secret holds 1 MiB; the rest is headroom for metadata. */
export const SHARD_LIMIT_BYTES = 768 * 1024;
export const MAX_SHARDS = 1000;
export const USERS_KEY = 'users.json';

export type { Permission } from '../../../common/src/users/permission.ts';

/**
 * One user as the operator writes it: the generated users-table type (common/src/users/users.schema.json) with
 * `home` always set (the pod defaults it to the username; the operator resolves it first).
 */
export type UsersTableEntry = UsersTableUser & { home: string };

export interface UsersTableShard {
  readonly index: number;
  /** Serialized users.json; byte-identical for identical input. */
  readonly content: string;
  readonly userCount: number;
}

export function shardSecretName(server: string, index: number): string {
  return `${server}-users-${index}`;
}

/** Stable shard of a username for N shards: first 4 bytes of SHA-256, mod N. */
export function shardOf(username: string, shards: number): number {
  return createHash('sha256').update(username).digest().readUInt32BE(0) % shards;
}

// Fixed key order so serialisation does not depend on how the entry object was assembled.
const KEY_ORDER: readonly (keyof UsersTableEntry)[] = [
  'username',
  'home',
  'disabled',
  'expiresAt',
  'publicKeys',
  'passwordHash',
  'permissions',
  'directoryPermissions',
  'logicalDirectories',
  'quota',
  'bandwidth',
  'allowedSourceCIDRs',
  'maxSessions',
  'sessionPolicy',
];

function canonicalEntry(e: UsersTableEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of KEY_ORDER) if (e[k] !== undefined) out[k] = e[k];
  return out;
}

function serialize(index: number, shards: number, entries: readonly UsersTableEntry[]): string {
  const doc = { version: 1, shard: index, shards, users: entries.map(canonicalEntry) };
  return JSON.stringify(doc);
}

/**
 * Splits users into the fewest shards (stable hash assignment) that keep every shard under `limitBytes`.
 * Pure and deterministic. Throws UsersTableTooLargeError on duplicate usernames or when no shard count fits.
 */
export function buildUsersTable(users: readonly UsersTableEntry[], limitBytes = SHARD_LIMIT_BYTES): UsersTableShard[] {
  const sorted = [...users].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]?.username === sorted[i - 1]?.username) {
      throw new UsersTableTooLargeError(`duplicate username "${sorted[i]?.username}" in the users table`);
    }
  }
  const sizes = sorted.map((u) => Buffer.byteLength(JSON.stringify(canonicalEntry(u))) + 1);
  const total = sizes.reduce((a, b) => a + b, 0);
  const overhead = 64; // the document envelope
  let n = Math.max(1, Math.ceil(total / (limitBytes - overhead)));
  for (; n <= MAX_SHARDS; n++) {
    const buckets: UsersTableEntry[][] = Array.from({ length: n }, () => []);
    const bytes = new Array<number>(n).fill(overhead);
    sorted.forEach((u, i) => {
      const s = n === 1 ? 0 : shardOf(u.username, n);
      buckets[s]?.push(u);
      bytes[s] = (bytes[s] ?? 0) + (sizes[i] ?? 0);
    });
    if (bytes.every((b) => b <= limitBytes)) {
      const shards = buckets.map((entries, index) => ({
        index,
        content: serialize(index, n, entries),
        userCount: entries.length,
      }));
      // The estimate above is conservative; verify the real serialised size anyway.
      if (shards.every((s) => Buffer.byteLength(s.content) <= limitBytes)) return shards;
    }
  }
  throw new UsersTableTooLargeError(`users table does not fit in ${MAX_SHARDS} shards of ${limitBytes} bytes`);
}

/** The content digest of the whole table (all shards), for a pod annotation / status. */
export function usersTableDigest(shards: readonly UsersTableShard[]): string {
  const h = createHash('sha256');
  for (const s of shards) h.update(s.content).update('\0');
  return h.digest('hex').slice(0, 16);
}
