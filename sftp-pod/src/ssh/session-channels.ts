// Session channels of an authenticated connection: every `session` channel counts toward the user's limit (across
// all their connections) and the connection's, whether or not it starts SFTP; only the `sftp` subsystem is served,
// on a raw channel under a channel guard, with bandwidth pacers and a handle budget shared by all of the user's
// sessions.
import type { ServerChannel, Session } from 'ssh2';
import { answerChecksum, type ChecksumAnswer, commandName, namesChecksumCommand } from '../audit/checksum-exec.ts';
import { type AuditLog, type AuditSubject, connectionEvent, execEvent } from '../audit/event.ts';
import type { UnsafeNames } from '../sftp/names.ts';
import { SftpSession } from '../sftp/session.ts';
import { createPathJail, type PathJail } from '../storage/jail.ts';
import type { Storage } from '../storage/types.ts';
import type { ConnectionEndReason, Metrics, SessionChannelRefusal } from '../telemetry/metrics.ts';
import type { UserRecord } from '../users/types.ts';
import { guardChannel } from './channel-guard.ts';
import type { Conn } from './conn.ts';
import type { UserSessions } from './user-sessions.ts';

export interface SessionChannelsOptions {
  readonly defaultMaxSessions: number;
  readonly maxChannelsPerConnection: number;
  readonly socketBufferBytes: number;
  readonly serverPrefix: string;
  readonly setstatMode: 'Error' | 'Ignore';
  /** Creating names with control characters or backslashes (sftp/names.ts); absent = the session's default. */
  readonly unsafeNames?: UnsafeNames;
  readonly storageFor: (user: UserRecord, sessionId: string) => Promise<Storage> | Storage;
  readonly metrics: Metrics;
  readonly userSessions: UserSessions;
  readonly endConnection: (conn: Conn, reason: string, metric: ConnectionEndReason) => Promise<void>;
  /** Audit trail (docs/audit.md); `serverName` identifies the server in its events (default: the S3 prefix). */
  readonly audit?: AuditLog;
  readonly serverName?: string;
}

/**
 * Non-sftp requests are refused explicitly (and logged) rather than left to ssh2's defaults. `exec` is answered only
 * for checksum commands (audit/checksum-exec.ts), which never execute anything.
 */
const REFUSED_SESSION_REQUESTS = ['pty', 'shell', 'env', 'x11', 'auth-agent', 'signal', 'window-change'];

export class SessionChannels {
  readonly #o: SessionChannelsOptions;

  constructor(options: SessionChannelsOptions) {
    this.#o = options;
  }

  /** Audits a login (authenticated) or logout (connection closed); no-op without an audit log. */
  auditConnection(conn: Conn, action: 'login' | 'logout'): void {
    const audit = this.#o.audit;
    if (!audit || !conn.user) return;
    const duration = action === 'logout' ? (Date.now() - conn.authenticatedAt) / 1000 : undefined;
    audit.emit(connectionEvent(action, auditSubject(conn, conn.user, this.#o), duration));
  }

  /** Every session channel counts toward the user's limit and the connection's, whether or not it starts SFTP. */
  open(conn: Conn, accept: () => Session, reject: () => void): void {
    const user = conn.user;
    if (!user || conn.ending) {
      reject();
      return;
    }
    const max = user.maxSessions ?? this.#o.defaultMaxSessions;
    const refusal =
      conn.channels >= this.#o.maxChannelsPerConnection
        ? 'connection_limit'
        : this.#o.userSessions.openSession(user, max);
    if (typeof refusal !== 'function') {
      const reason: SessionChannelRefusal = refusal ?? 'user_limit';
      this.#o.metrics.sessionChannelsRefused.inc({ reason });
      conn.log.info('session channel refused', { user: user.username, reason, max });
      reject();
      return;
    }
    conn.channels++;
    let open = true;
    const release = () => {
      if (!open) return;
      open = false;
      conn.channels--;
      refusal();
    };
    conn.socket.once('close', release);
    const session = accept();
    session.once('close', () => {
      conn.socket.off('close', release);
      release();
    });
    for (const ev of REFUSED_SESSION_REQUESTS) {
      session.on(ev, (_accept: unknown, rejectRequest?: () => void) => {
        conn.log.info('session request refused', { request: ev });
        rejectRequest?.();
      });
    }
    session.on('exec', (acceptExec, rejectExec, info) => {
      const current = conn.user;
      if (!current || !namesChecksumCommand(info.command)) {
        // Not a checksum command: refused as before, no channel is opened; audited by its command name only.
        conn.log.info('session request refused', { request: 'exec' });
        if (current) {
          this.#o.audit?.emit(
            execEvent(auditSubject(conn, current, this.#o), {
              command: commandName(info.command),
              status: 'op_unsupported',
              stderr: 'only md5sum and sha256sum of one file are answered; nothing else runs here',
            }),
          );
        }
        rejectExec();
        return;
      }
      void this.#exec(conn, current, info.command, acceptExec).catch((err: unknown) => {
        conn.log.error('exec request failed', { err });
      });
    });
    session.on('subsystem', (acceptSubsystem, rejectSubsystem, info) => {
      const current = conn.user;
      if (info.name !== 'sftp' || !current) {
        conn.log.info('subsystem refused', { subsystem: info.name.slice(0, 64) });
        rejectSubsystem();
        return;
      }
      void this.#startSftp(conn, current, acceptSubsystem).catch((err: unknown) => {
        conn.log.error('cannot start sftp session', { err });
        conn.client?.end();
      });
    });
  }

  /** Answers a checksum command (or refuses any other) on an exec channel: output, exit status, close. */
  async #exec(conn: Conn, user: UserRecord, command: string, accept: () => ServerChannel | undefined): Promise<void> {
    const channel = accept();
    if (!channel) return;
    let answer: ChecksumAnswer;
    try {
      const jail = createPathJail(this.#o.serverPrefix, { ...user, home: user.home ?? user.username });
      const storage = await this.#o.storageFor(user, conn.id);
      answer = await answerChecksum(command, jail, storage, AbortSignal.timeout(60_000));
    } catch (err) {
      conn.log.error('cannot answer an exec request', { user: user.username, err });
      answer = { exitCode: 1, stdout: '', stderr: 'checksum unavailable\n', command: undefined, status: 'failure' };
    }
    conn.log.info('exec request', { user: user.username, command: answer.command, status: answer.status });
    this.#o.audit?.emit(execEvent(auditSubject(conn, user, this.#o), answer));
    try {
      if (answer.stdout) channel.write(answer.stdout);
      if (answer.stderr) channel.stderr.write(answer.stderr);
      channel.exit(answer.exitCode);
      channel.end();
    } catch {
      // the client went away
    }
  }

  async #startSftp(conn: Conn, user: UserRecord, accept: () => ServerChannel | undefined): Promise<void> {
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
    // buffers (paused) until the session attaches its reader. ssh2 returns nothing for a second subsystem request on
    // a channel that already has one.
    const channel = accept();
    if (!channel) return;
    const guard = guardChannel(channel, {
      socket: conn.socket,
      socketBufferBytes: this.#o.socketBufferBytes,
      onOverrun: (window) => {
        conn.log.warn('client sent past the channel window, closing', { user: user.username, window });
        // No graceful close for a client that ignores flow control: stop reading now, drop the socket once the
        // sessions have released their uploads.
        conn.socket.pause();
        void this.#o.endConnection(conn, 'window overrun', 'window_overrun').finally(() => conn.socket.destroy());
      },
    });
    conn.guards.add(guard);
    let storage: Storage;
    try {
      storage = await this.#o.storageFor(user, conn.id);
    } catch (err) {
      conn.log.error('cannot create storage for the session', { user: user.username, err });
      conn.guards.delete(guard);
      channel.close();
      return;
    }
    const log = conn.log.child({ user: user.username });
    const shared = this.#o.userSessions.shared(user);
    const session = new SftpSession(channel, {
      storage,
      jail,
      username: user.username,
      sessionId: conn.id,
      setstatMode: this.#o.setstatMode,
      ...(this.#o.unsafeNames ? { unsafeNames: this.#o.unsafeNames } : {}),
      uploadPacer: shared.upload,
      downloadPacer: shared.download,
      handleBudget: shared.handles,
      metrics: this.#o.metrics,
      log,
      ...(this.#o.audit ? { audit: { log: this.#o.audit, subject: auditSubject(conn, user, this.#o) } } : {}),
    });
    conn.sessions.add(session);
    this.#o.metrics.sessionsActive.inc();
    log.info('sftp session started');
    await session.done;
    conn.sessions.delete(session);
    conn.guards.delete(guard);
    this.#o.metrics.sessionsActive.dec();
    log.info('sftp session ended');
  }
}

/** Who an audit event is about: the login's user, server, connection id and client address. */
export function auditSubject(
  conn: Conn,
  user: UserRecord,
  o: { readonly serverName?: string; readonly serverPrefix: string },
): AuditSubject {
  return { user: user.username, server: o.serverName ?? o.serverPrefix, sessionId: conn.id, remoteAddress: conn.ip };
}
