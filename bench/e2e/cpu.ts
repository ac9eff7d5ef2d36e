/**
 * CPU seconds per process over one timed phase of the end-to-end bench: the bridge, the worker and its
 * extraction processes, the four servers (found by the ports the configuration names) and the bench
 * driver itself. Servers are shared with anything else running on the machine at the same time, so
 * their figures include that work too.
 */
import type { Config } from '../../src/config/config.js';
import { commandLine, machineCpu, ProcessTreeMeter, pidListeningOn } from './procfs.js';

export interface CpuRow {
  name: string;
  seconds: number;
}

export interface ServerPids {
  temporal?: number;
  postgres?: number;
  seaweedfs?: number;
  nats?: number;
  /** The PostgreSQL Temporal persists to, when it is another than the product's (a production-shaped server). */
  temporalPostgres?: number;
}

function portOf(address: string, fallback: number): number {
  const match = /:(\d+)(?:\/|$)/.exec(address);
  return match ? Number(match[1]) : fallback;
}

/**
 * The servers' pids from the ports the configuration points at (PostgreSQL: the postmaster);
 * `temporalPostgresPort`: Temporal's own PostgreSQL, if it has one apart from the product's.
 */
export function findServers(cfg: Config, temporalPostgresPort?: number): ServerPids {
  return {
    temporal: pidListeningOn(portOf(cfg.temporal.address, 7233)),
    postgres: pidListeningOn(cfg.pg.port),
    seaweedfs: pidListeningOn(portOf(cfg.s3.endpoint, 8333)),
    nats: pidListeningOn(portOf(cfg.nats.url, 4222)),
    temporalPostgres: temporalPostgresPort ? pidListeningOn(temporalPostgresPort) : undefined,
  };
}

export function describeServers(pids: ServerPids): string {
  return Object.entries(pids)
    .map(([name, pid]) => `${name} ${pid ? `pid ${pid} (${commandLine(pid).split(' ')[0]})` : 'not found'}`)
    .join(', ');
}

/** Meters for one phase; sample() often enough to see short-lived children (every 200 ms). */
export class PhaseCpu {
  private readonly meters: { name: string; childName?: string; meter: ProcessTreeMeter }[] = [];
  private driverStart = process.cpuUsage();
  private machineStart = machineCpu();
  /** Busy CPU seconds of the whole machine over the phase (ours and everything else running). */
  machineBusy = 0;

  constructor(processes: { bridge?: number; worker?: number }, servers: ServerPids) {
    const add = (name: string, pid: number | undefined, childName?: string) => {
      if (pid && pid > 0) this.meters.push({ name, childName, meter: new ProcessTreeMeter(pid) });
    };
    add('bridge', processes.bridge);
    add('worker', processes.worker, 'worker: extraction processes');
    add('Temporal server', servers.temporal);
    add(
      "Temporal's PostgreSQL (postmaster + backends)",
      servers.temporalPostgres,
      "Temporal's PostgreSQL backends",
    );
    // Backends are the postmaster's children; they do the queries.
    add('PostgreSQL (postmaster + backends)', servers.postgres, 'PostgreSQL backends');
    add('SeaweedFS', servers.seaweedfs);
    add('NATS', servers.nats);
  }

  start(): void {
    this.driverStart = process.cpuUsage();
    this.machineStart = machineCpu();
    for (const m of this.meters) m.meter.start();
  }

  sample(): void {
    for (const m of this.meters) if (m.childName) m.meter.sample();
  }

  /** Peak VmHWM of the worker's extraction processes seen while sampling. */
  childPeakMiB(name: string): number {
    return this.meters.find((m) => m.name === name)?.meter.childPeakMiB ?? 0;
  }

  stop(): CpuRow[] {
    this.machineBusy = machineCpu().busy - this.machineStart.busy;
    const rows: CpuRow[] = [];
    for (const m of this.meters) {
      const { self, children } = m.meter.stop();
      if (m.name.includes('PostgreSQL')) rows.push({ name: m.name, seconds: self + children });
      else {
        rows.push({ name: m.name, seconds: self });
        if (m.childName) rows.push({ name: m.childName, seconds: children });
      }
    }
    const driver = process.cpuUsage(this.driverStart);
    rows.push({ name: 'bench driver (publishing, polling)', seconds: (driver.user + driver.system) / 1e6 });
    return rows;
  }
}
