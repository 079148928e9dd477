// The authentication flow for one attempt: ban check, credential check (ssh/auth.ts decides), account policy, the
// user's session limit, metrics and defender scoring. The server calls it for every ssh2 `authentication` event.
import { createHmac, randomBytes } from 'node:crypto';
import type { AuthContext } from 'ssh2';
import type { Logger } from '../telemetry/log.ts';
import type { AuthMethod, AuthResult, Metrics } from '../telemetry/metrics.ts';
import type { UsersStore } from '../users/store.ts';
import type { UserRecord } from '../users/types.ts';
import type { AlgorithmPolicy } from './algorithms.ts';
import { AUTH_METHODS, checkPassword, findKey, policyRefusal, promptPassword } from './auth.ts';
import type { Conn } from './conn.ts';
import { type Defender, Score } from './defender.ts';
import type { Semaphore } from './semaphore.ts';
import { certificateKey } from './user-certificate-login.ts';
import type { TrustedUserCas } from './user-certificates.ts';

export interface AuthenticatorOptions {
  readonly users: UsersStore;
  readonly defender: Defender;
  readonly policy: AlgorithmPolicy;
  /** Trusted user CAs (OpenSSH user certificates); undefined refuses every certificate. */
  readonly userCas?: TrustedUserCas;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly maxAuthTries: number;
  readonly defaultMaxSessions: number;
  /** Caps concurrent password hashing (scrypt holds memory and a core). */
  readonly hashing: Semaphore;
  /** True when the user's connections or session channels on this pod have reached `max`. */
  readonly atSessionLimit: (username: string, max: number) => boolean;
  /** Called after ctx.accept(): the connection is now the user's. */
  readonly onAuthenticated: (conn: Conn, user: UserRecord) => void;
}

/** Per-process key for attempt fingerprints: they name a guess for de-duplication and never leave memory. */
const ATTEMPT_KEY = randomBytes(32);

/** An opaque name for one guess (method, username, credential), so the defender scores a repeated guess once. */
function attemptId(method: string, username: string, credential: Buffer | string): string {
  return createHmac('sha256', ATTEMPT_KEY)
    .update(`${method}\0${username}\0`)
    .update(credential)
    .digest('base64url')
    .slice(0, 22);
}

export class Authenticator {
  readonly #o: AuthenticatorOptions;

  constructor(options: AuthenticatorOptions) {
    this.#o = options;
  }

  #count(method: AuthMethod, result: AuthResult): void {
    this.#o.metrics.authAttempts.inc({ method, result });
  }

  #onBan(ip: string): void {
    this.#o.metrics.defenderBans.inc();
    this.#o.metrics.defenderBannedHosts.set(this.#o.defender.bannedCount());
    this.#o.log.warn('source banned by the defender', { remoteAddress: ip });
  }

  /** A failed guess: counted, scored (once per distinct guess), and the connection ended at the limits. */
  #fail(conn: Conn, ctx: AuthContext, method: AuthMethod, attempt: string, score: boolean): void {
    conn.failures++;
    this.#count(method, 'failure');
    const banned = score && this.#o.defender.record(conn.ip, Score.failedLogin, attempt);
    if (banned) this.#onBan(conn.ip);
    ctx.reject(AUTH_METHODS);
    if (banned || conn.failures >= this.#o.maxAuthTries) conn.client?.end();
  }

  async authenticate(conn: Conn, ctx: AuthContext): Promise<void> {
    const method = ctx.method;
    if (this.#o.defender.isBanned(conn.ip)) {
      this.#count(method === 'password' || method === 'keyboard-interactive' ? method : 'publickey', 'banned');
      ctx.reject();
      conn.client?.end();
      return;
    }
    if (method !== 'publickey' && method !== 'password' && method !== 'keyboard-interactive') {
      // `none` is every client's first probe to learn the methods: not an attempt, so not counted (a failure count
      // would make the auth-failure alert fire on ordinary traffic).
      ctx.reject(AUTH_METHODS);
      return;
    }
    const user = this.#o.users.get(ctx.username);
    let ok = false;
    let attempt: string;
    if (method === 'publickey') {
      attempt = attemptId(method, ctx.username, ctx.key.data);
      // A certificate stands for a key when a trusted CA signed it for this user (user-certificate-login.ts).
      const key =
        certificateKey(user, ctx.key.algo, ctx.key.data, conn.ip, this.#o.userCas, conn.log) ??
        findKey(user, ctx.key.algo, ctx.key.data);
      if (!ctx.signature) {
        // A query ("would this key do?"). An unknown key is a failed attempt (as in OpenSSH, it counts toward
        // --max-auth-tries), but only the first per connection feeds the defender: a user whose agent offers
        // several keys must not be banned for it, while a key-only scan still scores once per connection.
        if (key) {
          ctx.accept();
          return;
        }
        this.#fail(conn, ctx, method, attempt, !conn.queryScored);
        conn.queryScored = true;
        return;
      }
      if (key && ctx.blob) {
        // ssh2 reports rsa-sha2-256/512 as key algo `ssh-rsa` with a hashAlgo; no hashAlgo means a SHA-1 signature.
        const sha1 = ctx.key.algo === 'ssh-rsa' && (ctx.hashAlgo === undefined || ctx.hashAlgo === 'sha1');
        ok =
          (!sha1 || this.#o.policy.allowSha1Signatures) && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true;
      }
    } else {
      // keyboard-interactive is a password login: one hidden prompt (answered before a hashing slot is taken), then
      // exactly the password check, scoring and timing (auth.ts promptPassword).
      const password = method === 'password' ? ctx.password : await promptPassword(ctx);
      attempt = attemptId('password', ctx.username, password);
      ok = await this.#o.hashing.run(() => checkPassword(user, password));
    }
    if (!ok || !user) {
      conn.log.info('authentication failed', {
        user: ctx.username.slice(0, 64),
        method,
        attempt: conn.failures + 1,
      });
      this.#fail(conn, ctx, method, attempt, true);
      return;
    }
    const refusal = policyRefusal(user, conn.ip);
    if (refusal) {
      this.#count(method, refusal);
      conn.log.info('login refused', { user: user.username, method, reason: refusal });
      ctx.reject(AUTH_METHODS);
      conn.client?.end();
      return;
    }
    const max = user.maxSessions ?? this.#o.defaultMaxSessions;
    if (this.#o.atSessionLimit(user.username, max)) {
      this.#count(method, 'max_sessions');
      conn.log.info('login refused', { user: user.username, method, reason: 'max_sessions', max });
      // A valid credential at its limit is not a guess; scored so a reconnect loop still backs off, once per guess.
      this.#o.defender.record(conn.ip, Score.limitExceeded, `${attempt}:limit`);
      ctx.reject(AUTH_METHODS);
      conn.client?.end();
      return;
    }
    this.#count(method, 'success');
    this.#o.onAuthenticated(conn, user);
    ctx.accept();
  }
}
