// The per-connection state the SSH front end keeps (one per TCP connection, from accept to close).
import type { Socket } from 'node:net';
import type { Connection } from 'ssh2';
import type { SftpSession } from '../sftp/session.ts';
import type { Logger } from '../telemetry/log.ts';
import type { UserRecord } from '../users/types.ts';
import type { ChannelGuard } from './channel-guard.ts';

export interface Conn {
  readonly id: string;
  /** The client's address: the TCP peer, or the source a trusted balancer named in its PROXY header. */
  readonly ip: string;
  readonly socket: Socket;
  client?: Connection;
  /** The record the login was admitted under; replaced only by changes that apply live (revocation.ts). */
  user?: UserRecord;
  authenticated: boolean;
  authenticatedAt: number;
  failures: number;
  /** A failed public key query already fed the defender on this connection. */
  queryScored: boolean;
  /** Session channels open on this connection (each one counts toward the user's session limit). */
  channels: number;
  readonly sessions: Set<SftpSession>;
  readonly guards: Set<ChannelGuard>;
  lastActivity: number;
  log: Logger;
  grace: NodeJS.Timeout | undefined;
  ending: boolean;
}
