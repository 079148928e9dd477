// The SSH front end: admission (bans, source ranges, unauthenticated-connection caps), authentication, and the one
// thing an authenticated client may do — open the `sftp` subsystem, served by our own SFTP layer on a raw channel.
//
// ssh2 override decision: none is needed with ssh2 1.17.0. Its server builds its own SFTP object for a subsystem
// named `sftp` only when the session has an `sftp` listener; without one it sets `useSFTP = false` and hands the
// `subsystem` listener a plain Channel (lib/server.js, CHANNEL_REQUEST 'subsystem'). So we register `subsystem` and
// never `sftp`. raw-channel.test.ts pins that behaviour: if an ssh2 upgrade changes it, that test fails.
import { randomBytes } from 'node:crypto';
import { type AddressInfo, type BlockList, createServer, type Server as NetServer, type Socket } from 'node:net';
import ssh2, { type AuthContext, type ClientInfo, type Connection, type ServerChannel, type Session } from 'ssh2';
import { SftpSession } from '../sftp/session.ts';
import { createPathJail, type PathJail } from '../storage/jail.ts';
import type { Storage } from '../storage/types.ts';
import type { Logger } from '../telemetry/log.ts';
import type { AuthMethod, AuthResult, Metrics } from '../telemetry/metrics.ts';
import type { UsersStore } from '../users/store.ts';
import type { UserRecord } from '../users/types.ts';
import type { AlgorithmPolicy } from './algorithms.ts';
import { AUTH_METHODS, checkPassword, findKey, policyRefusal, promptPassword } from './auth.ts';
import { addressAllowed } from './cidr.ts';
import { type Defender, Score } from './defender.ts';
import type { HostKey } from './host-keys.ts';

const Ssh2Server = ssh2.Server;

export interface SshServerOptions {
  readonly hostKeys: readonly HostKey[];
  readonly policy: AlgorithmPolicy;
  readonly banner?: string;
  readonly users: UsersStore;
  readonly defender: Defender;
  /** Server-wide allowed source ranges; undefined admits any address. */
  readonly allowedCidrs?: BlockList;
  readonly maxAuthTries: number;
  readonly loginGraceMs: number;
  readonly maxUnauthenticated: number;
  readonly maxUnauthenticatedPerSource: number;
  /** Used when a user sets no maxSessions. */
  readonly defaultMaxSessions: number;
  readonly idleTimeoutMs: number;
  readonly serverPrefix: string;
  readonly setstatMode: 'Error' | 'Ignore';
  /** Storage for one login (the IAM modes give each login its own credentials). */
  readonly storageFor: (user: UserRecord, sessionId: string) => Promise<Storage> | Storage;
  readonly metrics: Metrics;
  readonly log: Logger;
}

interface Conn {
  readonly id: string;
  readonly ip: string;
  readonly socket: Socket;
  client?: Connection;
  user?: UserRecord;
  authenticated: boolean;
  failures: number;
  /** A failed public key query already fed the defender on this connection. */
  queryScored: boolean;
  readonly sessions: Set<SftpSession>;
  lastActivity: number;
  log: Logger;
  grace: NodeJS.Timeout | undefined;
}

/** Non-sftp requests are refused explicitly (and logged) rather than left to ssh2's defaults. */
const REFUSED_SESSION_REQUESTS = ['pty', 'shell', 'exec', 'env', 'x11', 'auth-agent', 'signal', 'window-change'];

export class SshServer {
  readonly #o: SshServerOptions;
  readonly #ssh: InstanceType<typeof Ssh2Server>;
  readonly #tcp: NetServer;
  readonly #conns = new Map<string, Conn>();
  #unauthenticated = 0;
  readonly #unauthBySource = new Map<string, number>();
  #accepting = true;
  readonly #sweep: NodeJS.Timeout;
  readonly #unsubscribe: () => void;

  constructor(options: SshServerOptions) {
    this.#o = options;
    this.#ssh = new Ssh2Server(
      {
        hostKeys: options.hostKeys.map((k) => k.pem),
        algorithms: options.policy.algorithms,
        ...(options.banner ? { banner: options.banner } : {}),
        ident: 'sftpgate',
      },
      (client, info) => this.#onConnection(client, info),
    );
    this.#ssh.on('error', (err: unknown) => this.#o.log.warn('ssh server error', { err }));
    this.#tcp = createServer((socket) => this.#admit(socket));
    // Admission first, then ssh2: a banned or over-limit source never costs a key exchange.
    this.#unsubscribe = options.users.onChange(() => this.#recheckSessions());
    this.#sweep = setInterval(() => this.#sweepIdle(), Math.min(5000, Math.max(250, options.idleTimeoutMs / 4)));
    this.#sweep.unref();
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#tcp.once('error', reject);
      this.#tcp.listen(port, host, () => {
        this.#tcp.off('error', reject);
        resolve(this.#tcp.address() as AddressInfo);
      });
    });
  }

  get activeSessions(): number {
    let n = 0;
    for (const c of this.#conns.values()) n += c.sessions.size;
    return n;
  }

  get openUploads(): number {
    let n = 0;
    for (const c of this.#conns.values()) for (const s of c.sessions) n += s.openUploads;
    return n;
  }

  /** Stops accepting TCP connections (idempotent); existing ones continue. */
  stopAccepting(): Promise<void> {
    this.#accepting = false;
    return new Promise((resolve) => {
      if (!this.#tcp.listening) {
        resolve();
        return;
      }
      this.#tcp.close(() => resolve());
      // close() waits for every connection; resolve as soon as the listener is gone instead.
      setImmediate(resolve);
    });
  }

  /** Ends every connection: open uploads are aborted (no object appears), clients get a disconnect. */
  async closeAll(reason: string): Promise<void> {
    this.#accepting = false;
    const all = [...this.#conns.values()];
    await Promise.allSettled(all.map((c) => this.#endConn(c, reason)));
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    this.#unsubscribe();
    await this.stopAccepting();
    await this.closeAll('server shutting down');
  }

  #admit(socket: Socket): void {
    const ip = socket.remoteAddress ?? 'unknown';
    const m = this.#o.metrics;
    socket.on('error', () => {}); // a reset during admission is not our error
    if (!this.#accepting) {
      socket.destroy();
      return;
    }
    if (this.#o.defender.isBanned(ip)) {
      m.connections.inc({ result: 'banned' });
      socket.destroy();
      return;
    }
    if (this.#o.allowedCidrs && !addressAllowed(this.#o.allowedCidrs, ip)) {
      m.connections.inc({ result: 'refused_cidr' });
      socket.destroy();
      return;
    }
    const fromSource = this.#unauthBySource.get(ip) ?? 0;
    if (this.#unauthenticated >= this.#o.maxUnauthenticated || fromSource >= this.#o.maxUnauthenticatedPerSource) {
      m.connections.inc({ result: 'refused_limit' });
      this.#o.log.warn('connection refused: too many unauthenticated connections', { remoteAddress: ip });
      socket.destroy();
      return;
    }
    m.connections.inc({ result: 'accepted' });
    // SFTP is request/response: with Nagle a small reply can wait for a delayed ACK (~40 ms per request at -R 1).
    socket.setNoDelay(true);
    const conn: Conn = {
      id: randomBytes(8).toString('hex'),
      ip,
      socket,
      authenticated: false,
      failures: 0,
      queryScored: false,
      sessions: new Set(),
      lastActivity: Date.now(),
      log: this.#o.log.child({ remoteAddress: ip }),
      grace: undefined,
    };
    conn.log = this.#o.log.child({ sessionId: conn.id, remoteAddress: ip });
    this.#unauthenticated++;
    this.#unauthBySource.set(ip, fromSource + 1);
    this.#conns.set(`${ip}|${socket.remotePort}`, conn);
    conn.grace = setTimeout(() => {
      conn.log.info('login grace time exceeded');
      socket.destroy();
    }, this.#o.loginGraceMs);
    socket.once('close', () => {
      this.#conns.delete(`${ip}|${socket.remotePort}`);
      this.#leaveUnauthenticated(conn);
      for (const s of conn.sessions) void s.close('connection closed');
      if (conn.authenticated) conn.log.info('connection closed', { user: conn.user?.username });
    });
    this.#ssh.injectSocket(socket);
  }

  #leaveUnauthenticated(conn: Conn): void {
    if (conn.grace === undefined) return;
    clearTimeout(conn.grace);
    conn.grace = undefined;
    this.#unauthenticated--;
    const n = (this.#unauthBySource.get(conn.ip) ?? 1) - 1;
    if (n <= 0) this.#unauthBySource.delete(conn.ip);
    else this.#unauthBySource.set(conn.ip, n);
  }

  #onConnection(client: Connection, info: ClientInfo): void {
    const conn = this.#conns.get(`${info.ip}|${info.port}`);
    if (!conn) {
      client.end();
      return;
    }
    conn.client = client;
    client.on('error', (err: unknown) => conn.log.debug('ssh connection error', { err }));
    client.on('handshake', (negotiated) => {
      conn.log.debug('ssh handshake', { negotiated });
      // ssh2 1.17 always appends `ssh-rsa` (SHA-1 signatures) to the host key algorithms it offers when an RSA host
      // key is loaded, whatever the configured list says (lib/server.js, "Fall back to giving SHA1 the lowest
      // priority"). A client can only end up there if it offers nothing better; under a policy without SHA-1 we drop
      // it before authentication. sftp-protocol.test.ts asserts that such a client is refused.
      if (negotiated.serverHostKey === 'ssh-rsa' && !this.#o.policy.allowSha1Signatures) {
        conn.log.info('refusing SHA-1 host key signature (ssh-rsa) under the algorithm policy', {
          policy: this.#o.policy.name,
        });
        client.end();
      }
    });
    client.on('authentication', (ctx) => {
      void this.#authenticate(conn, ctx).catch((err: unknown) => {
        conn.log.error('authentication error', { err });
        ctx.reject();
      });
    });
    client.on('ready', () => {
      conn.log.info('authenticated', { user: conn.user?.username });
      client.on('session', (accept) => this.#onSession(conn, accept()));
    });
    // Forwarding and other global requests: refused.
    client.on('request', (_accept, reject, name) => {
      conn.log.info('global request refused', { request: name });
      reject?.();
    });
    client.on('tcpip', (_accept, reject) => reject());
    client.on('openssh.streamlocal', (_accept, reject) => reject());
  }

  #countAttempt(method: AuthMethod, result: AuthResult): void {
    this.#o.metrics.authAttempts.inc({ method, result });
  }

  async #authenticate(conn: Conn, ctx: AuthContext): Promise<void> {
    const method = ctx.method;
    if (this.#o.defender.isBanned(conn.ip)) {
      this.#countAttempt(method === 'password' || method === 'keyboard-interactive' ? method : 'publickey', 'banned');
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
    if (method === 'publickey') {
      const key = findKey(user, ctx.key.algo, ctx.key.data);
      if (!ctx.signature) {
        // A query ("would this key do?"). An unknown key is a failed attempt (as in OpenSSH, it counts toward
        // --max-auth-tries), but only the first per connection feeds the defender: a user whose agent offers
        // several keys must not be banned for it, while a key-only scan still scores once per connection.
        if (key) {
          ctx.accept();
          return;
        }
        conn.failures++;
        this.#countAttempt(method, 'failure');
        const banned =
          !conn.queryScored && this.#o.defender.record(conn.ip, user ? Score.wrongCredentials : Score.unknownUser);
        conn.queryScored = true;
        if (banned) this.#onBan(conn.ip);
        ctx.reject(AUTH_METHODS);
        if (banned || conn.failures >= this.#o.maxAuthTries) conn.client?.end();
        return;
      }
      if (key && ctx.blob) {
        // ssh2 reports rsa-sha2-256/512 as key algo `ssh-rsa` with a hashAlgo; no hashAlgo means a SHA-1 signature.
        const sha1 = ctx.key.algo === 'ssh-rsa' && (ctx.hashAlgo === undefined || ctx.hashAlgo === 'sha1');
        ok =
          (!sha1 || this.#o.policy.allowSha1Signatures) && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true;
      }
    } else if (method === 'password') {
      ok = await checkPassword(user, ctx.password);
    } else {
      // keyboard-interactive: one hidden prompt, then exactly the password check (auth.ts promptPassword).
      ok = await checkPassword(user, await promptPassword(ctx));
    }
    if (!ok || !user) {
      conn.failures++;
      this.#countAttempt(method, 'failure');
      const banned = this.#o.defender.record(conn.ip, user ? Score.wrongCredentials : Score.unknownUser);
      conn.log.info('authentication failed', { user: ctx.username.slice(0, 64), method, attempt: conn.failures });
      if (banned) this.#onBan(conn.ip);
      ctx.reject(AUTH_METHODS);
      if (banned || conn.failures >= this.#o.maxAuthTries) conn.client?.end();
      return;
    }
    const refusal = policyRefusal(user, conn.ip);
    if (refusal) {
      this.#countAttempt(method, refusal);
      conn.log.info('login refused', { user: user.username, method, reason: refusal });
      ctx.reject(AUTH_METHODS);
      conn.client?.end();
      return;
    }
    const max = user.maxSessions ?? this.#o.defaultMaxSessions;
    if (this.#connectionsOf(user.username) >= max) {
      this.#countAttempt(method, 'max_sessions');
      conn.log.info('login refused', { user: user.username, method, reason: 'max_sessions', max });
      this.#o.defender.record(conn.ip, Score.limitExceeded);
      ctx.reject(AUTH_METHODS);
      conn.client?.end();
      return;
    }
    this.#countAttempt(method, 'success');
    conn.user = user;
    conn.authenticated = true;
    conn.lastActivity = Date.now();
    this.#leaveUnauthenticated(conn);
    ctx.accept();
  }

  #onBan(ip: string): void {
    this.#o.metrics.defenderBans.inc();
    this.#o.metrics.defenderBannedHosts.set(this.#o.defender.bannedCount());
    this.#o.log.warn('source banned by the defender', { remoteAddress: ip });
  }

  #connectionsOf(username: string): number {
    let n = 0;
    for (const c of this.#conns.values()) if (c.authenticated && c.user?.username === username) n++;
    return n;
  }

  #onSession(conn: Conn, session: Session): void {
    for (const ev of REFUSED_SESSION_REQUESTS) {
      session.on(ev, (_accept: unknown, reject?: () => void) => {
        conn.log.info('session request refused', { request: ev });
        reject?.();
      });
    }
    session.on('subsystem', (accept, reject, info) => {
      const user = conn.user;
      if (info.name !== 'sftp' || !user) {
        conn.log.info('subsystem refused', { subsystem: info.name.slice(0, 64) });
        reject();
        return;
      }
      void this.#startSftp(conn, user, accept).catch((err: unknown) => {
        conn.log.error('cannot start sftp session', { err });
        conn.client?.end();
      });
    });
  }

  async #startSftp(conn: Conn, user: UserRecord, accept: () => ServerChannel): Promise<void> {
    let jail: PathJail;
    try {
      jail = createPathJail(this.#o.serverPrefix, { ...user, home: user.home ?? user.username });
    } catch (err) {
      // A users table the operator validated should never get here; refuse the login rather than guess.
      conn.log.error('user configuration rejected by the path jail', { user: user.username, err });
      conn.client?.end();
      return;
    }
    // Accept synchronously, before any await: OpenSSH sends SSH_FXP_INIT right behind the subsystem request without
    // waiting for the reply, and ssh2 drops channel data that arrives before the channel object exists. The channel
    // buffers (paused) until the session attaches its reader.
    const channel = accept();
    let storage: Storage;
    try {
      storage = await this.#o.storageFor(user, conn.id);
    } catch (err) {
      conn.log.error('cannot create storage for the session', { user: user.username, err });
      channel.close();
      return;
    }
    const log = conn.log.child({ user: user.username });
    const session = new SftpSession(channel, {
      storage,
      jail,
      username: user.username,
      sessionId: conn.id,
      setstatMode: this.#o.setstatMode,
      ...(user.quota?.maxBytes !== undefined ? { quotaBytes: user.quota.maxBytes } : {}),
      ...(user.bandwidth?.uploadBytesPerSecond ? { uploadBytesPerSecond: user.bandwidth.uploadBytesPerSecond } : {}),
      ...(user.bandwidth?.downloadBytesPerSecond
        ? { downloadBytesPerSecond: user.bandwidth.downloadBytesPerSecond }
        : {}),
      metrics: this.#o.metrics,
      log,
    });
    conn.sessions.add(session);
    this.#o.metrics.sessionsActive.inc();
    log.info('sftp session started');
    await session.done;
    conn.sessions.delete(session);
    this.#o.metrics.sessionsActive.dec();
    log.info('sftp session ended');
  }

  /** Closes the connections of users that were removed, disabled or expired (called on every table change). */
  #recheckSessions(): void {
    this.#o.metrics.usersLoaded.set(this.#o.users.size);
    for (const conn of this.#conns.values()) {
      if (!conn.authenticated || !conn.user) continue;
      const current = this.#o.users.get(conn.user.username);
      const reason = !current ? 'removed' : policyRefusal(current, conn.ip);
      if (reason) {
        conn.log.info('closing connection: user no longer allowed', { user: conn.user.username, reason });
        void this.#endConn(conn, `user ${reason}`);
      } else if (current) {
        conn.user = current;
      }
    }
  }

  #sweepIdle(): void {
    const now = Date.now();
    this.#o.metrics.defenderBannedHosts.set(this.#o.defender.bannedCount());
    for (const conn of this.#conns.values()) {
      if (!conn.authenticated) continue;
      // Expiry passes while connected: enforce it here too (the table may not change for days).
      if (conn.user && policyRefusal(conn.user, conn.ip, now)) {
        void this.#endConn(conn, 'user expired');
        continue;
      }
      let last = conn.lastActivity;
      for (const s of conn.sessions) last = Math.max(last, s.lastActivity);
      if (now - last > this.#o.idleTimeoutMs) {
        conn.log.info('closing idle connection', { user: conn.user?.username });
        void this.#endConn(conn, 'idle timeout');
      }
    }
  }

  async #endConn(conn: Conn, reason: string): Promise<void> {
    await Promise.allSettled([...conn.sessions].map((s) => s.close(reason)));
    try {
      conn.client?.end();
    } catch {
      // already gone
    }
    // A client that ignores the disconnect still loses its socket.
    setTimeout(() => conn.socket.destroy(), 2000).unref();
  }
}
