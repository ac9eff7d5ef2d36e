/**
 * The RSS watchdog of a job: the worker polls its extraction process's resident memory and SIGKILLs it
 * above the ceiling, which also catches memory outside the V8 heap that `--max-old-space-size` does not
 * bound. A process stopped at its ceiling is a non-retryable LimitExceededError naming the ceiling, its
 * variable and the file.
 */
import { LimitExceededError } from '../../../domain/errors.js';
import type { ExtractionProcess } from './extraction-process.js';
import { type ProcStatus, readProcStatus } from './proc-status.js';

export interface MemoryCeiling {
  /** RSS and V8 heap ceiling of the extraction process, MiB. */
  memoryMb: number;
  /** The variable that set memoryMb, named in the error (P8FS_EXTRACT_MEMORY_MB). */
  memoryVariable?: string;
  /** How often the RSS watchdog looks, ms. */
  pollMs?: number;
}

const POLL_MS = 100;

export interface MemoryWatch {
  /** Reads the process's memory now (undefined without /proc), raising the peak. */
  sample(): ProcStatus | undefined;
  /** Highest RSS or VmHWM seen, kB. */
  readonly peakKb: number | undefined;
  /** The RSS at which the watchdog killed the process, kB; undefined while it has not. */
  readonly stoppedAtKb: number | undefined;
  stop(): void;
}

/** Watches `proc` against `ceiling` until stopped; `onSample` sees every reading. */
export function watchMemory(
  proc: ExtractionProcess,
  ceiling: MemoryCeiling,
  onSample?: (status: ProcStatus) => void,
): MemoryWatch {
  const ceilingKb = ceiling.memoryMb * 1024;
  let peakKb: number | undefined;
  let stoppedAtKb: number | undefined;
  const sample = () => {
    const status = readProcStatus(proc.pid);
    if (!status) return undefined;
    peakKb = Math.max(peakKb ?? 0, status.rssKb, status.hwmKb);
    onSample?.(status);
    return status;
  };
  const timer = setInterval(() => {
    const status = sample();
    if (status && status.rssKb > ceilingKb && stoppedAtKb === undefined) {
      stoppedAtKb = status.rssKb;
      proc.kill();
    }
  }, ceiling.pollMs ?? POLL_MS);
  return {
    sample,
    get peakKb() {
      return peakKb;
    },
    get stoppedAtKb() {
      return stoppedAtKb;
    },
    stop: () => clearInterval(timer),
  };
}

/** The error of a file whose extraction was stopped at its ceiling; `what` names the memory that filled. */
export function memoryLimitError(fileName: string, ceiling: MemoryCeiling, what = ''): LimitExceededError {
  const variable = ceiling.memoryVariable ?? 'P8FS_EXTRACT_MEMORY_MB';
  return new LimitExceededError(
    `extraction of ${fileName} used more than ${ceiling.memoryMb} MiB${what} and was stopped (${variable})`,
  );
}
