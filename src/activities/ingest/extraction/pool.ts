/**
 * The extraction processes of one worker: a pool per memory ceiling, started lazily, at most one per job
 * running at once, replaced when one is killed, retired when idle or bloated. A small file then pays an IPC
 * round trip and a file write rather than a process start. The worker creates the pool, hands it to its
 * activities and stops it at shutdown; nothing keeps one in a module.
 */
import { ExtractionProcess } from './extraction-process.js';
import { readProcStatus } from './proc-status.js';

/** An idle process is stopped after this long, giving its memory back. */
const IDLE_MS = 60_000;
/** A process that ends a file holding more than this share of its ceiling is retired, not reused. */
const RETIRE_SHARE = 0.5;
/** Processes are replaced after this many files, so slow leaks in libraries cannot add up. */
const MAX_JOBS = 500;

export class ExtractionPool {
  private readonly idle = new Map<number, ExtractionProcess[]>();
  private readonly every = new Set<ExtractionProcess>();
  // Children also leave on their own when the IPC channel closes; this makes it immediate.
  private readonly killAll = () => {
    for (const child of this.every) child.kill();
  };
  private exitHookInstalled = false;

  /** An idle process under `memoryMb`, or a new one (`forked`); busy until released. */
  acquire(memoryMb: number): { process: ExtractionProcess; forked: boolean } {
    const pool = this.idle.get(memoryMb) ?? [];
    while (pool.length > 0) {
      const candidate = pool.pop() as ExtractionProcess;
      clearTimeout(candidate.idleTimer);
      if (candidate.alive) {
        candidate.busy(true);
        return { process: candidate, forked: false };
      }
      this.every.delete(candidate);
    }
    if (!this.exitHookInstalled) {
      this.exitHookInstalled = true;
      process.once('exit', this.killAll);
    }
    const created = new ExtractionProcess(memoryMb);
    created.busy(true);
    this.every.add(created);
    void created.exited.then(() => this.every.delete(created));
    return { process: created, forked: true };
  }

  /** Back to the pool after a job, or killed: not `reusable`, dead, bloated or worn out. */
  release(proc: ExtractionProcess, reusable: boolean): void {
    const rss = reusable ? readProcStatus(proc.pid) : undefined;
    const bloated = rss !== undefined && rss.rssKb > proc.memoryMb * 1024 * RETIRE_SHARE;
    if (!reusable || !proc.alive || bloated || proc.jobs >= MAX_JOBS) {
      proc.kill();
      return;
    }
    const pool = this.idle.get(proc.memoryMb) ?? [];
    this.idle.set(proc.memoryMb, pool);
    proc.busy(false);
    pool.push(proc);
    proc.idleTimer = setTimeout(() => {
      const at = pool.indexOf(proc);
      if (at >= 0) pool.splice(at, 1);
      proc.kill();
    }, IDLE_MS);
    proc.idleTimer.unref();
  }

  /** Kills every extraction process (idle or busy); the pool stays usable and forks anew when asked. */
  stop(): void {
    for (const pool of this.idle.values()) {
      for (const proc of pool) clearTimeout(proc.idleTimer);
      pool.length = 0;
    }
    this.killAll();
    if (this.exitHookInstalled) {
      this.exitHookInstalled = false;
      process.off('exit', this.killAll);
    }
  }

  /** Process ids of the extraction processes alive now (idle or busy); for tests and diagnostics. */
  ids(): number[] {
    return [...this.every].filter((p) => p.alive).map((p) => p.pid);
  }
}
