// The sftp pod's Prometheus metrics (docs/metrics.md is the contract; metrics.test.ts checks every name there is
// exported). One registry per Metrics instance, so tests and several in-process servers never collide.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SftpMetrics } from '../sftp/session.ts';
import type { StorageMetrics } from '../storage/metrics.ts';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type ConnectionResult =
  | 'accepted'
  | 'refused_limit'
  | 'refused_cidr'
  | 'banned'
  | 'refused_startups'
  | 'refused_proxy';
/** Why the pod ended an authenticated connection (not counted: client disconnects and shutdown). */
export type ConnectionEndReason = 'revoked' | 'expired' | 'lifetime' | 'idle' | 'output_timeout' | 'window_overrun';
export type SessionChannelRefusal = 'user_limit' | 'connection_limit';
export type AuthMethod = 'publickey' | 'password' | 'none' | 'keyboard-interactive';
export type AuthResult = 'success' | 'failure' | 'banned' | 'disabled' | 'expired' | 'cidr' | 'max_sessions';

export class Metrics implements SftpMetrics {
  readonly registry = new Registry();
  readonly sessionsActive: Gauge;
  readonly connections: Counter<'result'>;
  readonly authAttempts: Counter<'method' | 'result'>;
  readonly defenderBans: Counter;
  readonly defenderBannedHosts: Gauge;
  readonly transfers: Counter<'direction' | 'result'>;
  readonly transferBytes: Counter<'direction'>;
  readonly finalizeLagSeconds: Histogram;
  readonly uploadBufferedBytes: Gauge;
  readonly uploadBufferBudgetBytes: Gauge;
  readonly uploadPartDuration: Histogram;
  readonly backpressurePauses: Counter;
  readonly s3Requests: Counter<'operation' | 'result'>;
  readonly s3RequestDuration: Histogram<'operation'>;
  readonly sftpRequests: Counter<'op' | 'status'>;
  readonly stsRequests: Counter<'result'>;
  readonly usersLoaded: Gauge;
  readonly connectionsEnded: Counter<'reason'>;
  readonly sessionChannelsRefused: Counter<'reason'>;

  constructor(options: { defaults?: boolean } = {}) {
    const registers = [this.registry];
    this.sessionsActive = new Gauge({
      name: 'sftpgate_sessions_active',
      help: 'Authenticated SFTP sessions open now',
      registers,
    });
    this.connections = new Counter({
      name: 'sftpgate_connections_total',
      help: 'TCP connections by admission result',
      labelNames: ['result'],
      registers,
    });
    this.authAttempts = new Counter({
      name: 'sftpgate_auth_attempts_total',
      help: 'Authentication attempts by method and result',
      labelNames: ['method', 'result'],
      registers,
    });
    this.defenderBans = new Counter({
      name: 'sftpgate_defender_bans_total',
      help: 'Source addresses banned by the brute-force defender',
      registers,
    });
    this.defenderBannedHosts = new Gauge({
      name: 'sftpgate_defender_banned_hosts',
      help: 'Source addresses banned now',
      registers,
    });
    this.transfers = new Counter({
      name: 'sftpgate_transfers_total',
      help: 'Files transferred by direction and result',
      labelNames: ['direction', 'result'],
      registers,
    });
    this.transferBytes = new Counter({
      name: 'sftpgate_transfer_bytes_total',
      help: 'Payload bytes transferred',
      labelNames: ['direction'],
      registers,
    });
    this.finalizeLagSeconds = new Histogram({
      name: 'sftpgate_upload_finalize_lag_seconds',
      help: 'Time from the client CLOSE to S3 confirming the object',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.uploadBufferedBytes = new Gauge({
      name: 'sftpgate_upload_buffered_bytes',
      help: 'Bytes received from clients and not yet confirmed by S3',
      registers,
    });
    this.uploadBufferBudgetBytes = new Gauge({
      name: 'sftpgate_upload_buffer_budget_bytes',
      help: "The pod's budget for buffered upload bytes",
      registers,
    });
    this.uploadPartDuration = new Histogram({
      name: 'sftpgate_upload_part_duration_seconds',
      help: 'Duration of one UploadPart call',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.backpressurePauses = new Counter({
      name: 'sftpgate_backpressure_pauses_total',
      help: 'Times a channel stopped reading because a buffer budget was full',
      registers,
    });
    this.s3Requests = new Counter({
      name: 'sftpgate_s3_requests_total',
      help: 'S3 calls by operation and result',
      labelNames: ['operation', 'result'],
      registers,
    });
    this.s3RequestDuration = new Histogram({
      name: 'sftpgate_s3_request_duration_seconds',
      help: 'S3 call latency',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.sftpRequests = new Counter({
      name: 'sftpgate_sftp_requests_total',
      help: 'SFTP requests by operation and status',
      labelNames: ['op', 'status'],
      registers,
    });
    this.stsRequests = new Counter({
      name: 'sftpgate_sts_requests_total',
      help: 'Per-login credential requests (STS/AWS modes)',
      labelNames: ['result'],
      registers,
    });
    this.usersLoaded = new Gauge({
      name: 'sftpgate_users_loaded',
      help: 'Users in the loaded users table',
      registers,
    });
    this.connectionsEnded = new Counter({
      name: 'sftpgate_connections_ended_total',
      help: 'Authenticated connections the pod ended, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.sessionChannelsRefused = new Counter({
      name: 'sftpgate_session_channels_refused_total',
      help: 'Session channels refused by the per-user or per-connection limit',
      labelNames: ['reason'],
      registers,
    });
    // Zero-initialise the bounded label sets so dashboards and alerts see every series from the first scrape.
    for (const result of ['accepted', 'refused_limit', 'refused_cidr', 'banned', 'refused_startups', 'refused_proxy']) {
      this.connections.inc({ result }, 0);
    }
    for (const reason of ['revoked', 'expired', 'lifetime', 'idle', 'output_timeout', 'window_overrun']) {
      this.connectionsEnded.inc({ reason }, 0);
    }
    for (const reason of ['user_limit', 'connection_limit']) this.sessionChannelsRefused.inc({ reason }, 0);
    for (const direction of ['upload', 'download']) {
      this.transferBytes.inc({ direction }, 0);
      for (const result of ['ok', 'error', 'aborted']) this.transfers.inc({ direction, result }, 0);
    }
    for (const method of ['publickey', 'password']) {
      for (const result of ['success', 'failure']) this.authAttempts.inc({ method, result }, 0);
    }
    if (options.defaults !== false) collectDefaultMetrics({ register: this.registry, prefix: 'sftpgate_sftp_' });
  }

  // SftpMetrics (sftp/session.ts)
  request(op: string, status: string): void {
    this.sftpRequests.inc({ op, status });
  }
  transfer(direction: 'upload' | 'download', result: 'ok' | 'error' | 'aborted'): void {
    this.transfers.inc({ direction, result });
  }
  addTransferBytes(direction: 'upload' | 'download', bytes: number): void {
    this.transferBytes.inc({ direction }, bytes);
  }
  backpressurePause(): void {
    this.backpressurePauses.inc();
  }

  /** The storage layer's hooks (storage/metrics.ts), bound so they can be passed as plain callbacks. */
  storageMetrics(): StorageMetrics {
    return {
      s3Request: (operation, result, seconds) => {
        this.s3Requests.inc({ operation, result });
        this.s3RequestDuration.observe({ operation }, seconds);
      },
      partUploaded: (seconds) => this.uploadPartDuration.observe(seconds),
      bufferedBytes: (delta) => this.uploadBufferedBytes.inc(delta),
      finalizeLag: (seconds) => this.finalizeLagSeconds.observe(seconds),
    };
  }
}
