import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { type Config, portOf } from '../config/config.js';
import { errorText } from '../domain/errors.js';
import { searchAttributeCliPairs } from '../temporal/search-attributes.js';
import { serverBinDir } from './paths.js';
import { startDetached } from './processes.js';
import { hostOf, LOOPBACK, type ServerSpec, stopByPidFile } from './server-spec.js';

export interface TemporalDevServerOptions {
  port: number;
  uiPort: number;
  httpPort: number;
  metricsPort: number;
  dbFile: string;
  namespace: string;
  headless?: boolean;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Task queue fairness (default on): tasks are dispatched round-robin over their fairness keys (the
   * tenant, set on every start in src/temporal/starts.ts), so one tenant's bulk upload cannot starve
   * another's single file. Off, a queue is FIFO within a priority level.
   */
  fairness?: boolean;
}

/**
 * Dynamic config that turns fairness on (server ≥ 1.29; the CLI 1.9 embeds 1.32). `enableFairness`
 * implies the new matcher (`matching.useNewMatcher`), which priority keys need as well.
 *
 * One write partition per task queue: the server orders tasks by fairness key and priority within a
 * partition only, and by default writes each task to one of four at random while each poll reads one
 * at random, so a tenant's single file waited behind 0 to 23 of another tenant's 100 queued files (72 in
 * one make-test run) instead of 1 (docs/RELIABILITY.md, "Fairness between tenants"). Reads keep the
 * default four, as Temporal's way of lowering partitions has it (writes first, reads once the others are
 * empty), so a server restarted with this still dispatches what an older run left in partitions 1-3
 * (40 files queued before such a restart all completed); polls on the empty partitions are forwarded to
 * partition 0. One partition dispatches far more tasks a second than our files need.
 */
export const FAIRNESS_DYNAMIC_CONFIG = [
  'matching.enableFairness=true',
  'matching.numTaskqueueWritePartitions=1',
] as const;

/** Arguments of `temporal server start-dev` for our stack: loopback, SQLite (WAL), our search attributes, fairness. */
export function temporalDevServerArgs(o: TemporalDevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port)];
  args.push('--http-port', String(o.httpPort), '--metrics-port', String(o.metricsPort));
  args.push(...(o.headless ? ['--headless'] : ['--ui-port', String(o.uiPort), '--ui-disable-news-fetch']));
  args.push(
    '--db-filename',
    o.dbFile,
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=NORMAL',
  );
  args.push('--log-level', o.logLevel ?? 'warn');
  if (o.namespace !== 'default') args.push('--namespace', o.namespace);
  for (const pair of searchAttributeCliPairs()) args.push('--search-attribute', pair);
  if (o.fairness ?? true)
    for (const value of FAIRNESS_DYNAMIC_CONFIG) args.push('--dynamic-config-value', value);
  return args;
}

export function temporalServer(cfg: Config, stackDir: string): ServerSpec {
  const address = cfg.temporal.address;
  const port = portOf(address);
  const pidFile = join(stackDir, 'run', 'temporal.pid');
  const logFile = join(stackDir, 'logs', 'temporal.log');
  return {
    name: 'temporal',
    endpoints: { gRPC: address, UI: cfg.temporal.uiUrl, namespace: cfg.temporal.namespace },
    local: LOOPBACK.has(hostOf(address)),
    variable: 'TEMPORAL_ADDRESS',
    logFile,
    async probe() {
      let connection: Connection | undefined;
      try {
        connection = await Connection.connect({ address, connectTimeout: 2000 });
        await connection.workflowService.describeNamespace({ namespace: cfg.temporal.namespace });
        return { ok: true, detail: `Temporal at ${address} (namespace ${cfg.temporal.namespace})` };
      } catch (error) {
        return { ok: false, detail: `Temporal at ${address} unreachable (${errorText(error)})` };
      } finally {
        await connection?.close().catch(() => undefined);
      }
    },
    async start() {
      const dataDir = join(stackDir, 'data', 'temporal');
      mkdirSync(dataDir, { recursive: true });
      const args = temporalDevServerArgs({
        port,
        uiPort: cfg.stack.temporalUiPort,
        httpPort: port + 10,
        metricsPort: port + 11,
        dbFile: join(dataDir, 'temporal.db'),
        namespace: cfg.temporal.namespace,
      });
      startDetached({ command: join(serverBinDir(), 'temporal'), args, logFile, pidFile });
    },
    stop: () => stopByPidFile(pidFile),
  };
}
