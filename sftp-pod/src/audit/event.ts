// The audit event: one JSON object per SFTP operation and per login/logout (docs/audit.md is the schema). Built by
// pure functions from what the request table already knows (the entry's op label, the decoded arguments, the status),
// so no request handler carries audit code. Fields are chosen here and never hold a secret: no password, key, hash
// of a credential or S3 credential ever reaches an event.
import { STATUS_LABEL, Status, type StatusCode } from '../sftp/constants.ts';
import type { Args } from '../sftp/handler.ts';
import type { UploadDigests } from '../storage/types.ts';

/** Schema version of the event (docs/audit.md); bumped only on incompatible changes. */
export const AUDIT_SCHEMA_VERSION = 1;

export type AuditAction =
  | 'login'
  | 'logout'
  | 'upload'
  | 'download'
  | 'delete'
  | 'rename'
  | 'mkdir'
  | 'rmdir'
  | 'setstat'
  | 'copy'
  | 'link'
  | 'exec'
  | 'notify';

export interface AuditEvent {
  readonly audit: true;
  readonly v: number;
  readonly time: string;
  readonly action: AuditAction;
  /** `ok`, or the failure's SFTP status label (`permission_denied`, `no_such_file`, ... ; `connection_lost` too). */
  readonly status: string;
  /** The SFTP status code (0 = OK); absent for login/logout. */
  readonly statusCode?: number;
  /** The client-visible refusal message (already client-safe); only on failures. */
  readonly message?: string;
  readonly user: string;
  readonly server: string;
  readonly sessionId: string;
  readonly remoteAddress: string;
  /** The path as the user sees it (`/inbox/a.csv`). */
  readonly path?: string;
  /** The S3 object key (`<server prefix>/<home>/inbox/a.csv`), never a bucket credential. */
  readonly key?: string;
  /** rename/copy: where the entry went. */
  readonly targetPath?: string;
  readonly targetKey?: string;
  /** upload: bytes stored; download: bytes served. */
  readonly bytes?: number;
  readonly sha256?: string;
  readonly md5?: string;
  /** logout: seconds since login. */
  readonly durationSeconds?: number;
  /** exec: the command name only (`sha256sum`), never its arguments. */
  readonly command?: string;
  /** notify: the webhook delivery's id (`X-Sftpgate-Delivery`), the action it notified and the attempts made. */
  readonly deliveryId?: string;
  readonly event?: string;
  readonly attempts?: number;
}

/** Who did it: the same for every event of one SSH connection. */
export interface AuditSubject {
  readonly user: string;
  readonly server: string;
  readonly sessionId: string;
  readonly remoteAddress: string;
}

/** Where events go; emit never throws and never blocks the request (audit-log.ts). */
export interface AuditLog {
  emit(event: AuditEvent): void;
}

export const noAudit: AuditLog = { emit: () => {} };

/**
 * Table op label → action. Requests that only read metadata (stat, realpath, opendir/readdir, statvfs, limits,
 * fsync) and individual READ/WRITE packets are not audited: a transfer is one event, at CLOSE.
 */
const ACTION_BY_OP: Readonly<Record<string, AuditAction>> = {
  remove: 'delete',
  mkdir: 'mkdir',
  rmdir: 'rmdir',
  rename: 'rename',
  'ext:posix-rename@openssh.com': 'rename',
  setstat: 'setstat',
  fsetstat: 'setstat',
  'ext:copy-data': 'copy',
  symlink: 'link',
  'ext:hardlink@openssh.com': 'link',
};

/** What the dispatch knows after a request was answered. */
export interface RequestOutcome {
  readonly op: string;
  /** Absent when decoding failed (e.g. a path the jail refused). */
  readonly args: Args | undefined;
  readonly code: StatusCode;
  readonly message: string;
}

/** The action of an answered request, or undefined when the request is not audited. */
export function actionOf(o: RequestOutcome): AuditAction | undefined {
  const a = o.args;
  if (o.op === 'open') {
    // A successful OPEN is reported at CLOSE (upload completed / download finished); a refused one here.
    if (o.code === Status.OK) return undefined;
    return a?.mode === 'read' ? 'download' : 'upload';
  }
  if (o.op === 'close') {
    const h = a?.handle;
    // A copy-data target's CLOSE stores nothing: the copy was the event.
    if (h?.kind === 'write') return h.copied ? undefined : 'upload';
    const kind = h?.kind;
    if (kind === 'read') return 'download';
    return undefined;
  }
  // A failed WRITE makes its CLOSE fail: that CLOSE is the upload's one event.
  return ACTION_BY_OP[o.op];
}

function statusFields(code: StatusCode, message: string) {
  const ok = code === Status.OK;
  return {
    status: ok ? 'ok' : (STATUS_LABEL[code] ?? 'failure'),
    statusCode: code,
    ...(ok || message === '' ? {} : { message }),
  };
}

function base(action: AuditAction, who: AuditSubject, now: Date) {
  return {
    audit: true as const,
    v: AUDIT_SCHEMA_VERSION,
    time: now.toISOString(),
    action,
    user: who.user,
    server: who.server,
    sessionId: who.sessionId,
    remoteAddress: who.remoteAddress,
  };
}

/** The event for an answered request; undefined when the request is not audited. Pure. */
export function requestEvent(o: RequestOutcome, who: AuditSubject, now = new Date()): AuditEvent | undefined {
  const action = actionOf(o);
  if (action === undefined) return undefined;
  const a = o.args;
  const path = a?.path ?? a?.handle?.path;
  // copy-data: source is the read handle, target the write handle.
  const target = a?.target ?? a?.targetHandle?.path;
  const h = a?.handle;
  let bytes: number | undefined;
  if (o.op === 'close' && h?.kind === 'write') bytes = h.sink.bytesReceived;
  if (o.op === 'close' && h?.kind === 'read') bytes = h.bytes;
  const ok = o.code === Status.OK;
  return {
    ...base(action, who, now),
    ...statusFields(o.code, o.message),
    ...(path ? { path: path.virtualPath, key: path.key } : {}),
    ...(target ? { targetPath: target.virtualPath, targetKey: target.key } : {}),
    ...(bytes !== undefined ? { bytes } : {}),
    ...(ok && h?.kind === 'write' && h.sink.digests ? digestFields(h.sink.digests) : {}),
  };
}

function digestFields(d: UploadDigests) {
  return { sha256: d.sha256, ...(d.md5 !== undefined ? { md5: d.md5 } : {}) };
}

/** An upload the session ended without CLOSE (client gone): nothing was stored. Pure. */
export function abandonedUploadEvent(
  path: { readonly virtualPath: string; readonly key: string },
  bytes: number,
  reason: string,
  who: AuditSubject,
  now = new Date(),
): AuditEvent {
  return {
    ...base('upload', who, now),
    ...statusFields(Status.CONNECTION_LOST, `upload not closed, nothing was stored: ${reason}`),
    path: path.virtualPath,
    key: path.key,
    bytes,
  };
}

/** login (authenticated) and logout (connection closed). Pure. */
export function connectionEvent(
  action: 'login' | 'logout',
  who: AuditSubject,
  durationSeconds?: number,
  now = new Date(),
): AuditEvent {
  return {
    ...base(action, who, now),
    status: 'ok',
    ...(durationSeconds !== undefined ? { durationSeconds: Math.round(durationSeconds * 1000) / 1000 } : {}),
  };
}

/** A checksum exec request answered or refused (audit/checksum-exec.ts). Pure. */
export function execEvent(
  who: AuditSubject,
  answer: {
    readonly command: string | undefined;
    readonly status: string;
    readonly stderr: string;
    readonly path?: { readonly virtualPath: string; readonly key: string };
  },
  now = new Date(),
): AuditEvent {
  const ok = answer.status === 'ok';
  return {
    ...base('exec', who, now),
    status: answer.status,
    ...(answer.command !== undefined ? { command: answer.command } : {}),
    ...(ok ? {} : { message: answer.stderr.trim().slice(0, 512) }),
    ...(answer.path ? { path: answer.path.virtualPath, key: answer.path.key } : {}),
  };
}

/**
 * A webhook delivery that failed (its first failed attempt) or was given up (dropped): about the notified event, so
 * it keeps that event's user, session, path and key. Pure.
 */
export function notifyEvent(
  notified: AuditEvent,
  delivery: { readonly id: string; readonly attempts: number },
  message: string,
  now = new Date(),
): AuditEvent {
  const who = {
    user: notified.user,
    server: notified.server,
    sessionId: notified.sessionId,
    remoteAddress: notified.remoteAddress,
  };
  return {
    ...base('notify', who, now),
    status: 'failure',
    message: message.slice(0, 512),
    ...(notified.path !== undefined ? { path: notified.path } : {}),
    ...(notified.key !== undefined ? { key: notified.key } : {}),
    deliveryId: delivery.id,
    event: notified.action,
    attempts: delivery.attempts,
  };
}
