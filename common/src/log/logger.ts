// Structured JSON logs, one object per line on stdout, for the operator and the sftp pod alike. Fields must never
// hold secrets: the logger does not know what a secret is, so the rule is kept where fields are chosen (log names
// and reasons, never Secret data, passwords, hashes, keys or credentials).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Receives one JSON line without the trailing newline; default: stdout. */
  write?: (line: string) => void;
  base?: LogFields;
}

const MAX_CAUSE_DEPTH = 4;

/**
 * Renders an error as {name, message, code?, cause?}: the code whatever its type (Node's string codes, HTTP numbers),
 * the cause chain to a bounded depth. Not the stack (noise in JSON logs) and no other own property (an SDK error can
 * carry request metadata).
 */
export function serialiseError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return String(err);
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out['code'] = code;
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) out['cause'] = serialiseError(err.cause, depth + 1);
  return out;
}

/**
 * Creates a JSON logger. Any field holding an Error is serialised with serialiseError; a non-Error under the
 * conventional `err` key (a thrown string) is rendered as text.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = options.base ?? {};
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[level] < min) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...base };
    for (const [k, v] of Object.entries(fields ?? {})) {
      record[k] = v instanceof Error || (k === 'err' && v !== undefined) ? serialiseError(v) : v;
    }
    write(JSON.stringify(record));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, libraries used without logging). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
