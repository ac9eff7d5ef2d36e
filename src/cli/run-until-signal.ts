/**
 * How a long-running process command (bridge, subscriber) ends: the first SIGINT or SIGTERM asks it to
 * stop after the work in hand; a second signal, or the stop taking longer than `timeoutMs`, exits at once.
 * What was not acknowledged is delivered again by JetStream, so leaving early loses nothing.
 */
import type { Logger } from '../telemetry/logger.js';
import { signalExitCode } from './signal-exit-code.js';

export interface RunUntilSignalOptions {
  log: Logger;
  /** What the process finishes before it stops ("the batch in hand"). */
  finishing: string;
  stop(): Promise<void>;
  /** Logged when the stop takes too long. */
  tooSlow: { message: string; fields?: () => Record<string, unknown> };
  timeoutMs?: number;
}

export async function runUntilSignal(options: RunUntilSignalOptions): Promise<void> {
  const { log, timeoutMs = 10_000 } = options;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const shutdown = (received: NodeJS.Signals) => {
      log.info({ signal: received }, `shutting down: finishing ${options.finishing}`);
      process.once('SIGINT', () => process.exit(signalExitCode('SIGINT')));
      process.once('SIGTERM', () => process.exit(signalExitCode('SIGTERM')));
      resolve(received);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  const timer = setTimeout(() => {
    log.warn({ signal, waitedMs: timeoutMs, ...options.tooSlow.fields?.() }, options.tooSlow.message);
    process.exit(1);
  }, timeoutMs);
  timer.unref();
  await options.stop();
  clearTimeout(timer);
}
