/**
 * The large tier's heap ceiling, applied by `p8fs storage-worker --tier large` itself: V8 reads its heap size
 * flags only at start-up, so a worker started without them restarts once as a child process that has them
 * (P8FS_WORKER_LARGE_V8_FLAGS, LARGE_TIER_V8_FLAGS by default), with signals passed on and its exit code
 * returned. Without the ceiling a worker streaming a 1 GiB file grows to gigabytes of garbage before V8
 * collects it (docs/RELIABILITY.md, "Memory"); with it the measured peak is ~240 MiB.
 */
import { spawn } from 'node:child_process';
import { getHeapStatistics } from 'node:v8';
import type { Tier } from '../domain/tiers.js';
import type { Logger } from '../telemetry/logger.js';

const GiB = 1024 ** 3;

/**
 * The flags to restart with, or none: only a process serving the large tier alone (small and medium
 * files are held whole and want V8's default room), only when flags are configured, and never when a
 * heap ceiling was set some other way (NODE_OPTIONS or node's own arguments: V8's limit is then below the
 * default, which is several GiB on any machine a worker runs on).
 */
export function heapCeilingRestartFlags(
  tiers: readonly string[],
  configured: readonly string[],
  current: { execArgv: readonly string[]; heapLimitBytes: number },
): string[] {
  if (configured.length === 0) return [];
  if (tiers.length !== 1 || tiers[0] !== ('large' satisfies Tier)) return [];
  if (current.execArgv.some((arg) => /^--max[-_]old[-_]space[-_]size/.test(arg))) return [];
  if (current.heapLimitBytes < GiB) return [];
  return [...configured];
}

/** The exit code of a child that ended by `signal`, as a shell reports it. */
function signalCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : signal === 'SIGKILL' ? 137 : 143;
}

/**
 * Runs this same command again in a child node with `flags` first; resolves with the child's exit code.
 * SIGINT and SIGTERM are passed on (the child drains as a worker does), so a supervisor that signals
 * this process stops the worker the usual way.
 */
export function restartWithFlags(flags: readonly string[], log: Logger): Promise<number> {
  const args = [...flags, ...process.execArgv, ...process.argv.slice(1)];
  log.info({ v8Flags: flags.join(' ') }, 'large tier: restarting the worker with a heap ceiling');
  // An IPC channel only so the child notices when this process is gone (stopOnParentExit).
  const child = spawn(process.execPath, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? signalCode(signal) : 1));
    });
  });
}

/**
 * In the restarted child: when the parent goes away without passing a signal on (SIGKILL, a crash), the
 * IPC channel closes and the worker ends at once as its parent did, instead of running on unsupervised
 * (its activities are retried elsewhere from their last heartbeat, as after any crash).
 */
export function stopOnParentExit(log: Pick<Logger, 'warn'>): void {
  // Started without an IPC channel: not a restarted child, nothing to watch.
  if (typeof process.send !== 'function') return;
  const parentGone = () => {
    log.warn('the worker process that started this one is gone: exiting');
    process.exit(137);
  };
  // The parent may have died while this process was still starting up.
  if (!process.connected) parentGone();
  else process.once('disconnect', parentGone);
}

export function currentHeap(): { execArgv: readonly string[]; heapLimitBytes: number } {
  return { execArgv: process.execArgv, heapLimitBytes: getHeapStatistics().heap_size_limit };
}
