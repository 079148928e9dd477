// Session channels of an authenticated connection: every `session` channel counts toward the user's limit (across
// all their connections) and the connection's, whether or not it starts SFTP; only the `sftp` subsystem is served,
// on a raw channel under a channel guard, with bandwidth pacers and a handle budget shared by all of the user's
// sessions.
import type { ServerChannel, Session } from 'ssh2';
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
}

/** Non-sftp requests are refused explicitly (and logged) rather than left to ssh2's defaults. */
const REFUSED_SESSION_REQUESTS = ['pty', 'shell', 'exec', 'env', 'x11', 'auth-agent', 'signal', 'window-change'];

export class SessionChannels {
  readonly #o: SessionChannelsOptions;

  constructor(options: SessionChannelsOptions) {
    this.#o = options;
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
      ...(user.quota?.maxBytes !== undefined ? { quotaBytes: user.quota.maxBytes } : {}),
      uploadPacer: shared.upload,
      downloadPacer: shared.download,
      handleBudget: shared.handles,
      metrics: this.#o.metrics,
      log,
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
