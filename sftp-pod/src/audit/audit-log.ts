// Where audit events go (docs/audit.md "Stream"): their own writer, never the debug logger and never filtered by
// --log-level. `stdout`: one JSON line per event on the pod's stdout, marked `"audit":true` (a log shipper routes on
// that field); a file path: appended to that file only (a shared volume a sidecar ships); `off`: nowhere.
import { createWriteStream } from 'node:fs';
import type { AuditEvent, AuditLog } from './event.ts';
import { noAudit } from './event.ts';

export type AuditTarget = 'stdout' | 'off' | { readonly file: string };

export interface ClosableAuditLog extends AuditLog {
  /** Flushes and closes a file target; idempotent. */
  close(): Promise<void>;
}

/** An audit log writing each event as one JSON line to `write` (tests, custom sinks). emit never throws. */
export function lineAuditLog(write: (line: string) => void): AuditLog {
  return {
    emit(event: AuditEvent) {
      try {
        write(JSON.stringify(event));
      } catch {
        // An audit writer that fails must not fail the user's request; the stream's own error handler reports it.
      }
    },
  };
}

/** Opens the target. A file is opened for appending; an unwritable file fails the pod at start (reported by `onError`). */
export function openAuditLog(target: AuditTarget, onError: (err: unknown) => void): ClosableAuditLog {
  if (target === 'off') return { ...noAudit, close: async () => {} };
  if (target === 'stdout') {
    return { ...lineAuditLog((line) => process.stdout.write(`${line}\n`)), close: async () => {} };
  }
  const stream = createWriteStream(target.file, { flags: 'a', mode: 0o600 });
  stream.on('error', onError);
  let closed: Promise<void> | undefined;
  return {
    ...lineAuditLog((line) => {
      if (!stream.writableEnded) stream.write(`${line}\n`);
    }),
    close() {
      closed ??= new Promise<void>((resolve) => stream.end(() => resolve()));
      return closed;
    },
  };
}

/** `--audit-log` value: `stdout`, `off`, or an absolute file path. */
export function parseAuditTarget(text: string): AuditTarget | undefined {
  if (text === 'stdout' || text === 'off') return text;
  if (text.startsWith('/')) return { file: text };
  return undefined;
}
