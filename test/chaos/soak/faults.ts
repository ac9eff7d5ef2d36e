/**
 * Carries out the fault schedule against the soak stack, and stands in for a supervisor (Kubernetes, the
 * compose file's restart policy): a product process that exits on its own is logged as a crash and
 * started again, so one crash does not end the soak but is counted in the report.
 */
import { errorText } from '../../../src/domain/errors.js';
import type { ServerName } from '../../../src/stack/servers.js';
import type { FaultTarget, PlannedFault } from './plan.js';
import { PROCESS_NAMES, type ProcessName, type SoakStack } from './stack.js';

export interface FaultRecord {
  fault: PlannedFault;
  /** Seconds after the start when it began and when the target answered again. */
  startedAt: number;
  recoveredAt?: number;
  error?: string;
}

export interface CrashRecord {
  name: ProcessName;
  at: number;
  detail: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function processOf(target: FaultTarget): ProcessName | undefined {
  return (PROCESS_NAMES as string[]).includes(target) ? (target as ProcessName) : undefined;
}

export class FaultRunner {
  readonly records: FaultRecord[] = [];
  readonly crashes: CrashRecord[] = [];
  /** Processes the schedule has taken down on purpose right now: the supervisor leaves them alone. */
  private readonly down = new Set<ProcessName>();
  private supervising = true;
  /** Faults on one target run one after another (a kill planned while the last restart is under way waits). */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly stack: SoakStack,
    private readonly startedAt: number,
    private readonly say: (line: string) => void,
  ) {}

  private now(): number {
    return Math.round((Date.now() - this.startedAt) / 100) / 10;
  }

  /** Starts a process, retrying while a server it needs is away (up to 5 minutes). */
  async bringUp(name: ProcessName): Promise<void> {
    const deadline = Date.now() + 300_000;
    for (;;) {
      try {
        await this.stack.startProcess(name, 180_000);
        return;
      } catch (error) {
        await this.stack.killProcess(name);
        if (Date.now() > deadline) throw error;
        this.say(`[faults] ${name} not ready yet (${errorText(error).slice(0, 160)}); retrying`);
        await sleep(2000);
      }
    }
  }

  private async apply(fault: PlannedFault): Promise<void> {
    const record: FaultRecord = { fault, startedAt: this.now() };
    this.records.push(record);
    const { target, action, downSeconds } = fault;
    this.say(
      `[faults] t=${record.startedAt}s ${action} ${target}${downSeconds ? ` for ${downSeconds}s` : ''}`,
    );
    try {
      const name = processOf(target);
      if (name) {
        this.down.add(name);
        try {
          await this.stack.killProcess(name);
          await sleep(downSeconds * 1000);
          await this.bringUp(name);
        } finally {
          this.down.delete(name);
        }
      } else {
        const server = target as ServerName;
        await this.stack.stopServer(server);
        if (action === 'stop') await sleep(downSeconds * 1000);
        await this.stack.startServer(server);
      }
      record.recoveredAt = this.now();
      this.say(
        `[faults] t=${record.recoveredAt}s ${target} back (${(record.recoveredAt - record.startedAt).toFixed(1)}s)`,
      );
    } catch (error) {
      record.error = errorText(error);
      this.say(`[faults] ${target}: ${record.error}`);
    }
  }

  /** Runs every fault at its second; faults overlap when their times do (a kill during an outage). */
  async run(faults: PlannedFault[]): Promise<void> {
    await Promise.all(
      faults.map(async (fault) => {
        const wait = this.startedAt + fault.at * 1000 - Date.now();
        if (wait > 0) await sleep(wait);
        await this.serially(fault.target, () => this.apply(fault));
      }),
    );
  }

  private serially(target: string, action: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(target) ?? Promise.resolve()).then(action);
    this.chains.set(target, next);
    return next;
  }

  /** Every 2 s: a process that is not running and not taken down on purpose crashed; start it again. */
  async supervise(): Promise<void> {
    while (this.supervising) {
      for (const name of PROCESS_NAMES) {
        if (this.down.has(name) || this.stack.isRunning(name) || !this.supervising) continue;
        const detail = this.stack.unexpectedExits().find((line) => line.startsWith(name)) ?? 'not running';
        this.crashes.push({ name, at: this.now(), detail });
        this.say(
          `[supervisor] t=${this.now()}s ${detail}; starting it again (log ${this.stack.logFile(name)})`,
        );
        this.down.add(name);
        void this.serially(name, () =>
          this.bringUp(name)
            .catch((error) => this.say(`[supervisor] ${name} could not be started: ${errorText(error)}`))
            .finally(() => this.down.delete(name)),
        );
      }
      await sleep(2000);
    }
  }

  stop(): void {
    this.supervising = false;
  }
}
