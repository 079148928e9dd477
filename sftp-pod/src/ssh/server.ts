// The SSH front end: admission (PROXY header, bans, source ranges, MaxStartups), authentication (authenticator.ts),
// and the one thing an authenticated client may do — open the `sftp` subsystem, served by our own SFTP layer on a
// raw channel — under per-user and per-connection session limits, channel guards (channel-guard.ts), revocation on
// every users-table change (revocation.ts), a maximum session lifetime, idle and output timeouts.
//
// ssh2 override decision: none is needed with ssh2 1.17.0. Its server builds its own SFTP object for a subsystem
// named `sftp` only when the session has an `sftp` listener; without one it sets `useSFTP = false` and hands the
// `subsystem` listener a plain Channel (lib/server.js, CHANNEL_REQUEST 'subsystem'). So we register `subsystem` and
// never `sftp`. server.test.ts pins that behaviour: if an ssh2 upgrade changes it, that test fails.
import { randomBytes } from 'node:crypto';
import { type AddressInfo, type BlockList, createServer, type Server as NetServer, type Socket } from 'node:net';
import ssh2, { type ClientInfo, type Connection } from 'ssh2';
import type { AuditLog } from '../audit/event.ts';
import type { Storage } from '../storage/types.ts';
import type { Logger } from '../telemetry/log.ts';
import type { ConnectionEndReason, Metrics } from '../telemetry/metrics.ts';
import type { UsersStore } from '../users/store.ts';
import type { UserRecord } from '../users/types.ts';
import { Admission, type MaxStartups } from './admission.ts';
import type { AlgorithmPolicy } from './algorithms.ts';
import { policyRefusal } from './auth.ts';
import { Authenticator } from './authenticator.ts';
import { addressAllowed } from './cidr.ts';
import type { Conn } from './conn.ts';
import type { Defender } from './defender.ts';
import type { HostKey } from './host-keys.ts';
import { ProxyConnectionClosedError, readProxyHeader } from './proxy-protocol.ts';
import { revocationReason } from './revocation.ts';
import { Semaphore } from './semaphore.ts';
import { SessionChannels } from './session-channels.ts';
import { batchSocketWrites } from './socket-batching.ts';
import { assertSsh2Patched } from './ssh2-patch.ts';
import type { TrustedUserCas } from './user-certificates.ts';
import { UserSessions } from './user-sessions.ts';

const Ssh2Server = ssh2.Server;

export interface SshServerOptions {
  readonly hostKeys: readonly HostKey[];
  readonly policy: AlgorithmPolicy;
  /** Trusted user CAs for OpenSSH user certificates (--trusted-user-ca-keys); none: certificates are refused. */
  readonly userCas?: TrustedUserCas;
  readonly banner?: string;
  readonly users: UsersStore;
  readonly defender: Defender;
  /** Server-wide allowed source ranges; undefined admits any address. */
  readonly allowedCidrs?: BlockList;
  /** Peers that must open with a PROXY protocol v2 header naming the real client; undefined: none. */
  readonly proxyProtocolCidrs?: BlockList;
  readonly maxAuthTries: number;
  readonly loginGraceMs: number;
  /** Unauthenticated connections: random early drop from `start`, none beyond `full`. */
  readonly maxStartups: MaxStartups;
  readonly maxUnauthenticatedPerSource: number;
  /** Concurrent password hashes (scrypt); further attempts wait. */
  readonly maxPasswordHashes: number;
  /** Used when a user sets no maxSessions. Counts session channels across all the user's connections. */
  readonly defaultMaxSessions: number;
  readonly maxChannelsPerConnection: number;
  /** Open SFTP handles per user across all their sessions on the pod. */
  readonly maxHandlesPerUser: number;
  /** 0: unlimited. */
  readonly maxSessionLifetimeMs: number;
  readonly idleTimeoutMs: number;
  /** A reply that cannot be delivered for this long ends the connection. */
  readonly outputTimeoutMs: number;
  /** Bytes the pod queues in one connection's socket before channel writes wait. */
  readonly socketBufferBytes: number;
  readonly serverPrefix: string;
  readonly setstatMode: 'Error' | 'Ignore';
  /** Creating names with control characters or backslashes (sftp/names.ts); default `Refuse`. */
  readonly unsafeNames?: 'Refuse' | 'Allow';
  /** Storage for one login (the IAM modes give each login its own credentials). */
  readonly storageFor: (user: UserRecord, sessionId: string) => Promise<Storage> | Storage;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Audit trail (docs/audit.md): login/logout here, SFTP operations at the request dispatch. */
  readonly audit?: AuditLog;
  readonly serverName?: string;
}

export class SshServer {
  readonly #o: SshServerOptions;
  readonly #ssh: InstanceType<typeof Ssh2Server>;
  readonly #tcp: NetServer;
  readonly #conns = new Map<string, Conn>();
  readonly #admission: Admission;
  readonly #userSessions: UserSessions;
  readonly #auth: Authenticator;
  readonly #sessions: SessionChannels;
  #awaitingProxyHeader = 0;
  #accepting = true;
  readonly #sweep: NodeJS.Timeout;
  readonly #unsubscribe: () => void;

  constructor(options: SshServerOptions) {
    const { nativeCrypto } = assertSsh2Patched();
    this.#o = options;
    if (!nativeCrypto) {
      options.log.warn('ssh2 runs without its native crypto binding (Node crypto: more CPU per GiB)', {
        fix: 'node patches/build-ssh2-binding.ts before bundling (needs g++; docs/decisions.md)',
      });
    }
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
    // Admission first, then ssh2: a banned or over-limit source never costs a key exchange.
    this.#tcp = createServer((socket) => this.#admit(socket));
    this.#userSessions = new UserSessions(options.maxHandlesPerUser);
    this.#admission = new Admission(options.maxStartups, options.maxUnauthenticatedPerSource);
    this.#auth = new Authenticator({
      users: options.users,
      defender: options.defender,
      policy: options.policy,
      ...(options.userCas ? { userCas: options.userCas } : {}),
      metrics: options.metrics,
      log: options.log,
      maxAuthTries: options.maxAuthTries,
      defaultMaxSessions: options.defaultMaxSessions,
      hashing: new Semaphore(options.maxPasswordHashes),
      atSessionLimit: (username, max) => this.#userSessions.atLimit(username, max),
      onAuthenticated: (conn, user) => this.#onAuthenticated(conn, user),
    });
    this.#sessions = new SessionChannels({
      ...options,
      userSessions: this.#userSessions,
      endConnection: (conn, reason, metric) => this.#endConn(conn, reason, metric),
    });
    this.#unsubscribe = options.users.onChange(() => this.#onUsersChanged());
    const periods = [options.idleTimeoutMs, options.outputTimeoutMs, options.maxSessionLifetimeMs].filter((p) => p > 0);
    this.#sweep = setInterval(() => this.#sweepConnections(), Math.min(5000, Math.max(250, Math.min(...periods) / 4)));
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

  /**
   * Ends every connection: clients get a disconnect, and no open upload's object appears (each is kept resumable, or
   * aborted when resume is off or the user's access ended; docs/storage.md "Resumable uploads").
   */
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
    socket.on('error', () => {}); // a reset during admission is not our error
    if (!this.#accepting) {
      socket.destroy();
      return;
    }
    const peer = socket.remoteAddress ?? 'unknown';
    const proxies = this.#o.proxyProtocolCidrs;
    if (!proxies || !addressAllowed(proxies, peer)) {
      this.#admitClient(socket, peer);
      return;
    }
    // A trusted balancer: the real client is in the header. Connections still waiting for one count against the
    // unauthenticated cap (not per source: every one of them comes from the balancer).
    if (this.#awaitingProxyHeader + this.#admission.unauthenticated >= this.#o.maxStartups.full) {
      this.#refuse(socket, 'refused_limit', peer);
      return;
    }
    this.#awaitingProxyHeader++;
    readProxyHeader(socket, Math.min(this.#o.loginGraceMs, 10_000)).then(
      (header) => {
        this.#awaitingProxyHeader--;
        this.#admitClient(socket, header.kind === 'proxy' ? header.address : peer);
      },
      (err: unknown) => {
        this.#awaitingProxyHeader--;
        if (err instanceof ProxyConnectionClosedError) {
          socket.destroy();
          return;
        }
        this.#o.log.info('connection refused: bad PROXY header', { peer, err });
        this.#refuse(socket, 'refused_proxy', peer);
      },
    );
  }

  #refuse(socket: Socket, result: 'refused_limit' | 'refused_proxy' | 'refused_startups', ip: string): void {
    this.#o.metrics.connections.inc({ result });
    // Random early drops come in floods: debug only (the metric counts them).
    if (result === 'refused_limit') this.#o.log.warn('connection refused', { reason: result, remoteAddress: ip });
    else if (result === 'refused_startups')
      this.#o.log.debug('connection dropped', { reason: result, remoteAddress: ip });
    socket.destroy();
  }

  #admitClient(socket: Socket, ip: string): void {
    const m = this.#o.metrics;
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
    const admitted = this.#admission.enter(ip);
    if (admitted !== 'accepted') {
      this.#refuse(socket, admitted, ip);
      return;
    }
    m.connections.inc({ result: 'accepted' });
    // SFTP is request/response: with Nagle a small reply can wait for a delayed ACK (~40 ms per request at -R 1).
    socket.setNoDelay(true);
    const id = randomBytes(8).toString('hex');
    const conn: Conn = {
      id,
      ip,
      socket,
      authenticated: false,
      authenticatedAt: 0,
      failures: 0,
      queryScored: false,
      channels: 0,
      sessions: new Set(),
      guards: new Set(),
      lastActivity: Date.now(),
      log: this.#o.log.child({ sessionId: id, remoteAddress: ip }),
      grace: undefined,
      ending: false,
    };
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    this.#conns.set(key, conn);
    conn.grace = setTimeout(() => {
      conn.log.info('login grace time exceeded');
      socket.destroy();
    }, this.#o.loginGraceMs);
    socket.once('close', () => {
      this.#conns.delete(key);
      this.#leaveUnauthenticated(conn);
      for (const s of conn.sessions) void s.close('connection closed');
      if (conn.authenticated && conn.user) {
        this.#userSessions.removeConnection(conn.user.username);
        conn.log.info('connection closed', { user: conn.user.username });
        this.#sessions.auditConnection(conn, 'logout');
      }
    });
    batchSocketWrites(socket);
    this.#ssh.injectSocket(socket);
  }

  #leaveUnauthenticated(conn: Conn): void {
    if (conn.grace === undefined) return;
    clearTimeout(conn.grace);
    conn.grace = undefined;
    this.#admission.leave(conn.ip);
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
      // ssh2's inflater has no output cap (a 35 KB packet inflates to ~35 MB past every window): whatever a policy
      // lists, a connection that negotiated compression is not served.
      if (negotiated.cs.compress !== 'none' || negotiated.sc.compress !== 'none') {
        conn.log.info('refusing a compressed connection', { compress: negotiated.cs.compress });
        client.end();
      }
    });
    client.on('authentication', (ctx) => {
      void this.#auth.authenticate(conn, ctx).catch((err: unknown) => {
        conn.log.error('authentication error', { err });
        ctx.reject();
      });
    });
    client.on('ready', () => {
      conn.log.info('authenticated', { user: conn.user?.username });
      this.#sessions.auditConnection(conn, 'login');
      client.on('session', (accept, reject) => this.#sessions.open(conn, accept, reject));
    });
    // Forwarding and other global requests: refused.
    client.on('request', (_accept, reject, name) => {
      conn.log.info('global request refused', { request: name });
      reject?.();
    });
    client.on('tcpip', (_accept, reject) => reject());
    client.on('openssh.streamlocal', (_accept, reject) => reject());
  }

  #onAuthenticated(conn: Conn, user: UserRecord): void {
    conn.user = user;
    conn.authenticated = true;
    conn.authenticatedAt = Date.now();
    conn.lastActivity = conn.authenticatedAt;
    this.#leaveUnauthenticated(conn);
    this.#userSessions.addConnection(user);
  }

  /**
   * Every users-table change: a live connection whose record changed in anything but bandwidth or quota (or whose
   * user was removed, disabled, expired or moved out of its source ranges) is ended now; the client logs in again
   * under the new record. Bandwidth changes apply to the live sessions.
   */
  #onUsersChanged(): void {
    for (const conn of this.#conns.values()) {
      if (!conn.authenticated || !conn.user || conn.ending) continue;
      const current = this.#o.users.get(conn.user.username);
      const reason = revocationReason(conn.user, current, conn.ip);
      if (reason) {
        conn.log.info('closing connection: user record changed', { user: conn.user.username, reason });
        void this.#endConn(conn, `user ${reason}`, 'revoked');
      } else if (current && current !== conn.user) {
        conn.user = current;
        this.#userSessions.applyLive(current);
      }
    }
  }

  /** Periodic: expiry passing while connected, session lifetime, stalled output, idle connections. */
  #sweepConnections(): void {
    const now = Date.now();
    this.#o.metrics.defenderBannedHosts.set(this.#o.defender.bannedCount());
    for (const conn of this.#conns.values()) {
      if (!conn.authenticated || conn.ending) continue;
      const end = this.#overdue(conn, now);
      if (end) {
        conn.log.info('closing connection', { user: conn.user?.username, reason: end });
        void this.#endConn(conn, end.replace('_', ' '), end);
      }
    }
  }

  #overdue(conn: Conn, now: number): ConnectionEndReason | undefined {
    if (conn.user && policyRefusal(conn.user, conn.ip, now)) return 'expired';
    if (this.#o.maxSessionLifetimeMs > 0 && now - conn.authenticatedAt > this.#o.maxSessionLifetimeMs) {
      return 'lifetime';
    }
    for (const g of conn.guards) {
      const since = g.outputStalledSince();
      if (since !== undefined && now - since > this.#o.outputTimeoutMs) return 'output_timeout';
    }
    let last = conn.lastActivity;
    for (const s of conn.sessions) last = Math.max(last, s.lastActivity);
    return now - last > this.#o.idleTimeoutMs ? 'idle' : undefined;
  }

  async #endConn(conn: Conn, reason: string, metric?: ConnectionEndReason): Promise<void> {
    if (metric && !conn.ending) this.#o.metrics.connectionsEnded.inc({ reason: metric });
    conn.ending = true;
    // A client that ignores the disconnect still loses its socket.
    setTimeout(() => conn.socket.destroy(), 2000).unref();
    await Promise.allSettled([...conn.sessions].map((s) => s.close(reason)));
    try {
      conn.client?.end();
    } catch {
      // already gone
    }
  }
}
