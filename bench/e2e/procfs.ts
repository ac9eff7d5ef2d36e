/**
 * What the end-to-end bench reads of other processes from /proc (Linux only): CPU time (utime + stime,
 * and cutime + cstime of reaped children), peak resident memory (VmHWM, reset with clear_refs), children,
 * and which process listens on a TCP port (how the bench finds the servers' pids).
 */
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux everywhere we run). */
const TICKS = 100;

export interface CpuTimes {
  /** The process's own user + system time, seconds. */
  self: number;
  /** Its waited-for children's user + system time (cutime + cstime), seconds. */
  reaped: number;
}

export function cpuTimes(pid: number): CpuTimes | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces and parentheses: fields count from after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const at = (field: number) => Number(fields[field - 3] ?? 0);
    return { self: (at(14) + at(15)) / TICKS, reaped: (at(16) + at(17)) / TICKS };
  } catch {
    return undefined;
  }
}

/** VmHWM and VmRSS in MiB; undefined once the process is gone. */
export function memory(pid: number): { hwm: number; rss: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
  } catch {
    return undefined;
  }
}

/** Resets a process's VmHWM to its current RSS (needs root or the same user), so a peak covers one phase. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Direct children of every thread of `pid`. */
export function childrenOf(pid: number): number[] {
  const found = new Set<number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const task of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'latin1').trim().split(/\s+/))
        if (child) found.add(Number(child));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return [...found];
}

/** Socket inodes listening on `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[] = [];
    try {
      lines = readFileSync(table, 'latin1').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT"; state 0A is LISTEN; column 10 is the inode.
      if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A' && cols[9]) inodes.add(cols[9]);
    }
  }
  return inodes;
}

/** The pid of the process listening on TCP `port`, found through its socket's inode; undefined if none. */
export function pidListeningOn(port: number): number | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${entry}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode && inodes.has(inode)) return Number(entry);
      } catch {
        // The descriptor closed meanwhile.
      }
    }
  }
  return undefined;
}

/** Busy and total CPU seconds of the whole machine since boot, all cores (/proc/stat's first line). */
export function machineCpu(): { busy: number; total: number } {
  const fields =
    readFileSync('/proc/stat', 'latin1').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal …: idle and iowait are the idle ones.
  const all = fields.slice(0, 8).reduce((sum, n) => sum + n, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: (all - idle) / TICKS, total: all / TICKS };
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/**
 * CPU seconds of one process and, separately, of its children (PostgreSQL's backends, the worker's
 * extraction processes) over a window, with the children's peak VmHWM. Children are sampled while they
 * live; those that end inside the window are counted through the parent's cutime/cstime instead (the
 * kernel adds a child's times there when it is reaped), minus what they had used before the window.
 */
export class ProcessTreeMeter {
  private startSelf = 0;
  private startReaped = 0;
  /** pid → CPU seconds at the window's start (0 for children born inside it) and at the last sample. */
  private readonly kids = new Map<number, { start: number; last: number }>();
  childPeakMiB = 0;

  constructor(readonly pid: number) {}

  start(): void {
    const t = cpuTimes(this.pid);
    this.startSelf = t?.self ?? 0;
    this.startReaped = t?.reaped ?? 0;
    this.kids.clear();
    this.childPeakMiB = 0;
    for (const child of childrenOf(this.pid)) {
      const cpu = cpuTimes(child)?.self ?? 0;
      this.kids.set(child, { start: cpu, last: cpu });
    }
  }

  sample(): void {
    for (const child of childrenOf(this.pid)) {
      const cpu = cpuTimes(child)?.self;
      if (cpu === undefined) continue;
      const known = this.kids.get(child);
      if (known) known.last = cpu;
      else this.kids.set(child, { start: 0, last: cpu });
      this.childPeakMiB = Math.max(this.childPeakMiB, memory(child)?.hwm ?? 0);
    }
  }

  /** CPU seconds since start(): the process itself, and its children together. */
  stop(): { self: number; children: number } {
    this.sample();
    const t = cpuTimes(this.pid);
    const alive = new Set(childrenOf(this.pid));
    let children = (t?.reaped ?? this.startReaped) - this.startReaped;
    for (const [pid, kid] of this.kids) {
      children += alive.has(pid) ? kid.last - kid.start : -kid.start;
    }
    return { self: (t?.self ?? this.startSelf) - this.startSelf, children: Math.max(0, children) };
  }
}
