// The pod logs through the shared JSON logger (common/src/log/logger.ts); this keeps the pod's positional form.
import { createLogger as create, type LogFields, type Logger, type LogLevel } from '../../../common/src/log/logger.ts';

export { type LogFields, type Logger, type LogLevel, silentLogger } from '../../../common/src/log/logger.ts';

/** A JSON logger at `level` with `base` fields on every line; `write` receives each line without its newline. */
export function createLogger(level: LogLevel = 'info', base: LogFields = {}, write?: (line: string) => void): Logger {
  return create({ level, base, ...(write !== undefined && { write }) });
}
