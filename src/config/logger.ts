import { type Logger, pino } from 'pino';
import type { Config } from './config.js';

/** JSON logs on stdout (one line per event), named by process role. */
export function createLogger(cfg: Config, name: string): Logger {
  return pino({ name, level: cfg.logLevel, base: { pid: process.pid } });
}
