/**
 * One logger for every process (pino). Two voices: `json` (one JSON object per line on stdout, for log
 * shippers in production) and `pretty` (one readable line per event on stderr, so a person's terminal
 * shows sentences and a command's own output on stdout stays clean). `auto` picks pretty on a terminal.
 */
import { Writable } from 'node:stream';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from '../config/config.js';

export type { Logger } from 'pino';

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
// Fields every record carries that a person does not need on each line.
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return /[\s="]/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === 'object') {
    const error = value as { type?: string; message?: string };
    // pino serialises errors as { type, message, stack }: the first two are what a reader wants.
    if (typeof error.message === 'string' && typeof error.type === 'string') {
      return JSON.stringify(`${error.type}: ${error.message}`);
    }
    return JSON.stringify(value);
  }
  return String(value);
}

/** `12:00:01.234 WARN  p8fs-bridge: event dead-lettered reason="…" seq=12` */
export function formatPrettyLine(record: Record<string, unknown>): string {
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now())
    .toISOString()
    .slice(11, 23);
  const level = (LEVEL_NAMES[Number(record.level)] ?? String(record.level)).padEnd(5);
  const fields = Object.entries(record)
    .filter(([key, value]) => !HIDDEN.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  const name = record.name ? `${String(record.name)}: ` : '';
  return `${time} ${level} ${name}${String(record.msg ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
}

function prettyDestination(out: NodeJS.WritableStream): DestinationStream {
  let pending = '';
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      pending += chunk.toString('utf8');
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        try {
          out.write(formatPrettyLine(JSON.parse(line) as Record<string, unknown>));
        } catch {
          out.write(`${line}\n`);
        }
        newline = pending.indexOf('\n');
      }
      callback();
    },
  });
}

export function usesPrettyLogs(cfg: Pick<Config, 'logFormat'>): boolean {
  return cfg.logFormat === 'pretty' || (cfg.logFormat === 'auto' && process.stderr.isTTY === true);
}

/** The process's logger, named by its role (process-names.ts: p8fs-bridge, p8fs-storage-worker, …). */
export function createLogger(cfg: Pick<Config, 'logLevel' | 'logFormat'>, name: string): Logger {
  const options = { name, level: cfg.logLevel, base: { pid: process.pid } };
  return usesPrettyLogs(cfg) ? pino(options, prettyDestination(process.stderr)) : pino(options);
}
