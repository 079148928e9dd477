// Credential checks against the users table. Decisions only: the server applies them, counts attempts and feeds the
// defender. Unknown users cost the same as known ones: a password is always run through scrypt (decoy hash), and a
// public key is always compared against a list.
import type { BlockList } from 'node:net';
import ssh2, { type AuthenticationType, type KeyboardAuthContext, type ParsedKey } from 'ssh2';
import { verifyPassword } from '../users/password.ts';
import { loginRefusal } from '../users/store.ts';
import type { UserRecord } from '../users/types.ts';
import { addressAllowed, compileCidrs } from './cidr.ts';

const { utils } = ssh2;
const parsedKeys = new WeakMap<UserRecord, ParsedKey[]>();
const userCidrs = new WeakMap<UserRecord, BlockList | null>();

/** The user's authorized keys, parsed once per table version (records are replaced, never mutated). */
export function authorizedKeys(user: UserRecord): ParsedKey[] {
  let keys = parsedKeys.get(user);
  if (!keys) {
    keys = [];
    for (const line of user.publicKeys ?? []) {
      const parsed = utils.parseKey(line);
      // A key that does not parse is skipped, not fatal: one bad line must not lock the user out of the others.
      if (!(parsed instanceof Error) && !Array.isArray(parsed)) keys.push(parsed);
    }
    parsedKeys.set(user, keys);
  }
  return keys;
}

export function findKey(user: UserRecord | undefined, algo: string, blob: Buffer): ParsedKey | undefined {
  const keys = user ? authorizedKeys(user) : [];
  return keys.find((k) => {
    const pub = k.getPublicSSH();
    return k.type === algo && pub.length === blob.length && pub.equals(blob);
  });
}

/** The methods a client is told it may continue with after a failure. */
export const AUTH_METHODS: AuthenticationType[] = ['publickey', 'password', 'keyboard-interactive'];

export async function checkPassword(user: UserRecord | undefined, password: string): Promise<boolean> {
  return verifyPassword(password, user?.passwordHash);
}

/** Longest answer we hash: a keyboard-interactive reply is client bytes like a password (ssh2 caps the packet). */
const MAX_ANSWER = 1024;

/**
 * keyboard-interactive as a password login: one hidden prompt, the answer checked exactly like `password` (same
 * hash, decoy for unknown and key-only users, so the same timing). Resolves to the password, or '' when the client
 * answered with no or several responses (still a failed attempt, still hashed).
 */
export function promptPassword(ctx: KeyboardAuthContext): Promise<string> {
  return new Promise((resolve) => {
    ctx.prompt([{ prompt: 'Password: ', echo: false }], (answers) => {
      const answer = answers.length === 1 ? (answers[0] ?? '') : '';
      resolve(answer.length > MAX_ANSWER ? '' : answer);
    });
  });
}

export type PolicyRefusal = 'disabled' | 'expired' | 'cidr';

/** Checks made after the credentials were proven: account state and the user's allowed source ranges. */
export function policyRefusal(user: UserRecord, address: string, now = Date.now()): PolicyRefusal | undefined {
  const state = loginRefusal(user, now);
  if (state) return state;
  if (user.allowedSourceCIDRs && user.allowedSourceCIDRs.length > 0) {
    let list = userCidrs.get(user);
    if (list === undefined) {
      try {
        list = compileCidrs(user.allowedSourceCIDRs);
      } catch {
        list = null; // an invalid list admits nobody rather than everybody
      }
      userCidrs.set(user, list);
    }
    if (list === null || !addressAllowed(list, address)) return 'cidr';
  }
  return undefined;
}
