// The operator logs through the shared JSON logger (common/src/log/logger.ts).
export {
  createLogger,
  type LogFields,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  silentLogger,
} from '../../../common/src/log/logger.ts';
