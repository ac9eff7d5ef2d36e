/**
 * The memory of an extraction process as the kernel counts it (/proc/<pid>/status), which also sees
 * memory outside the V8 heap (buffers, typed arrays). Without /proc (not Linux) nothing is read, and the
 * V8 heap ceiling alone guards the worker.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface ProcStatus {
  rssKb: number;
  hwmKb: number;
}

/** VmRSS and VmHWM (peak) of a process, from /proc; undefined where there is no /proc or it is gone. */
export function readProcStatus(pid: number): ProcStatus | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
    const hwmKb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
    return Number.isFinite(rssKb) ? { rssKb, hwmKb: Number.isFinite(hwmKb) ? hwmKb : rssKb } : undefined;
  } catch {
    return undefined;
  }
}

/** Resets a process's peak RSS (VmHWM) to its current RSS, so the peak of one file can be read. */
export function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Older kernels or no /proc: the peak then covers the process's whole life.
  }
}
