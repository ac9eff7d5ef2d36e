/**
 * A production-shaped Temporal server beside the dev server: `temporal-server` (built from the Go module
 * proxy by scripts/install-temporal-server.sh) on PostgreSQL through the postgres12 plugin, with several
 * history shards, the product's fairness settings and search attributes. The dev server of the stack
 * (src/stack/temporal-server.ts) keeps SQLite in one process; this one is what a deployment runs, so the
 * benches can measure Temporal's cost where it is real (bench/temporal-production.ts).
 *
 * It starts a PostgreSQL of its own (the stack's PostgreSQL 18 binaries, its own data folder and port)
 * unless given one, creates the `temporal` and `temporal_visibility` databases, sets their schemas up with
 * temporal-sql-tool (embedded schemas, then brought to the newest version), writes the server's config,
 * starts it, registers the namespace and search attributes the way the dev server's flags do, and waits
 * until a workflow carrying every search attribute can be started. Driven by scripts/temporal-production.ts.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { loadConfig } from '../config/config.js';
import { projectRoot } from '../config/project-root.js';
import { ensureDatabase } from '../db/ensure-database.js';
import { errorText } from '../domain/errors.js';
import { postgresServer } from './postgres-server.js';
import { readPid, startDetached, stopPid, waitFor } from './processes.js';
import {
  dynamicConfigYaml,
  type TemporalPersistence,
  temporalServerConfigYaml,
} from './temporal-production-config.js';
import { probeStart, registerNamespace } from './temporal-production-namespace.js';

export interface ProductionTemporalOptions {
  /** Absolute folder for the config, logs, pid file and (unless pgUrl) the PostgreSQL data. */
  stackDir: string;
  /** The frontend's gRPC port (clients' TEMPORAL_ADDRESS); the other services' ports follow it. */
  port: number;
  /** Port of the PostgreSQL this starts (ignored with pgUrl). */
  pgPort: number;
  /** postgres://user:password@host:port of a PostgreSQL to use instead of starting one. */
  pgUrl?: string;
  historyShards: number;
  namespace: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * Ports apart from everything else here: the demo stack (7233, 5432…), the test stack (2xxxx) and the
 * soak's stack (16xxx, 26xxx). The server takes 17233-17239, 17243-17244 and 17933-17939.
 */
export const PRODUCTION_TEMPORAL_DEFAULTS = {
  stackDir: '.stack/temporal-production',
  port: 17233,
  pgPort: 17432,
  historyShards: 4,
  namespace: 'default',
  logLevel: 'warn',
} as const;

const DATABASE = 'temporal';
const VISIBILITY_DATABASE = 'temporal_visibility';
const INSTALL = 'bash scripts/install-temporal-server.sh';

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
}

/** The binaries scripts/install-temporal-server.sh builds, or why they cannot be used. */
export function temporalServerBinaries(): TemporalServerBinaries | { missing: string } {
  const dir = join(projectRoot(), '.stack', 'temporal-server', 'bin');
  const server = join(dir, 'temporal-server');
  const sqlTool = join(dir, 'temporal-sql-tool');
  if (existsSync(server) && existsSync(sqlTool)) return { server, sqlTool };
  return {
    missing: `the production-shaped Temporal server is not installed (no ${server} or ${sqlTool}): run \`${INSTALL}\` (builds go.temporal.io/server v1.32.2 from the Go module proxy; minutes on 2 cores)`,
  };
}

function files(o: ProductionTemporalOptions) {
  return {
    config: join(o.stackDir, 'config', 'temporal.yaml'),
    dynamicConfig: join(o.stackDir, 'config', 'dynamicconfig.yaml'),
    shards: join(o.stackDir, 'config', 'history-shards'),
    pid: join(o.stackDir, 'run', 'temporal-server.pid'),
    log: join(o.stackDir, 'logs', 'temporal-server.log'),
  };
}

export function productionTemporalAddress(o: ProductionTemporalOptions): string {
  return `127.0.0.1:${o.port}`;
}

/** The stack's PostgreSQL module, pointed at this server's own folder and port. */
function ownPostgres(o: ProductionTemporalOptions) {
  const cfg = loadConfig({
    P8FS_PG_HOST: '127.0.0.1',
    P8FS_PG_PORT: String(o.pgPort),
    P8FS_PG_USER: 'postgres',
    P8FS_PG_DATABASE: DATABASE,
  });
  return postgresServer(cfg, o.stackDir);
}

function persistenceOf(o: ProductionTemporalOptions): TemporalPersistence {
  const base = { database: DATABASE, visibilityDatabase: VISIBILITY_DATABASE };
  if (!o.pgUrl) return { host: '127.0.0.1', port: o.pgPort, user: 'postgres', password: '', ...base };
  let url: URL;
  try {
    url = new URL(o.pgUrl);
  } catch {
    throw new Error(`--pg-url must be postgres://user:password@host:port, got "${o.pgUrl}"`);
  }
  if (!/^postgres(ql)?:$/.test(url.protocol) || !url.hostname || !url.username)
    throw new Error(`--pg-url must be postgres://user:password@host:port, got "${o.pgUrl}"`);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    ...base,
  };
}

async function ensurePostgres(o: ProductionTemporalOptions, say: (line: string) => void): Promise<void> {
  if (o.pgUrl) return;
  const server = ownPostgres(o);
  if ((await server.probe()).ok) return;
  say(`starting PostgreSQL on 127.0.0.1:${o.pgPort} (log: ${server.logFile})`);
  await server.start();
  const probe = await waitFor(() => server.probe(), 60_000);
  if (!probe.ok) throw new Error(`PostgreSQL for Temporal did not come up: ${probe.detail}`);
}

const run = promisify(execFile);

/**
 * Creates both databases if missing and brings their schemas to the newest version the tool embeds:
 * `setup-schema -v 0.0` once (versioning tables), then `update-schema` (a no-op when already current).
 */
async function ensureSchemas(p: TemporalPersistence, sqlTool: string, say: (line: string) => void) {
  const connection = { host: p.host, port: p.port, user: p.user, password: p.password };
  for (const [database, schema] of [
    [p.database, 'postgresql/v12/temporal'],
    [p.visibilityDatabase, 'postgresql/v12/visibility'],
  ] as const) {
    const admin = new pg.Client({ ...connection, database: 'postgres' });
    await admin.connect();
    let versioned: boolean;
    try {
      if (await ensureDatabase(admin, database)) say(`created database ${database}`);
      const db = new pg.Client({ ...connection, database });
      await db.connect();
      try {
        const found = await db.query("SELECT to_regclass('schema_version') IS NOT NULL AS present");
        versioned = found.rows[0]?.present === true;
      } finally {
        await db.end();
      }
    } finally {
      await admin.end();
    }
    const args = ['--ep', p.host, '-p', String(p.port), '-u', p.user, '--pl', 'postgres12', '--db', database];
    // The password through the environment, not the command line (ps shows arguments to everyone).
    const env = { ...process.env, SQL_PASSWORD: p.password };
    try {
      if (!versioned) {
        say(`setting up schema ${schema} in ${database}`);
        await run(sqlTool, [...args, 'setup-schema', '-v', '0.0'], { env });
      }
      await run(sqlTool, [...args, 'update-schema', '--schema-name', schema], { env });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(
        `temporal-sql-tool failed on ${database} (${schema}): ${e.stderr?.trim() || e.message}`,
      );
    }
  }
}

/** The shard count is fixed when the databases are first used: another count is refused with the way out. */
function checkShards(o: ProductionTemporalOptions, shardsFile: string): void {
  if (!existsSync(shardsFile)) return;
  const recorded = Number(readFileSync(shardsFile, 'utf8').trim());
  if (recorded !== o.historyShards)
    throw new Error(
      `the Temporal databases in ${o.stackDir} were created with ${recorded} history shards and cannot change to ${o.historyShards}: start with --shards ${recorded}, or \`stop\`, delete ${o.stackDir} and start again (an empty server)`,
    );
}

function logTail(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts (or reuses) PostgreSQL, the schemas and the server; resolves once a product workflow can start. */
export async function startProductionTemporal(
  o: ProductionTemporalOptions,
  say: (line: string) => void = () => undefined,
): Promise<{ address: string; pid: number; logFile: string }> {
  const binaries = temporalServerBinaries();
  if ('missing' in binaries) throw new Error(binaries.missing);
  const f = files(o);
  checkShards(o, f.shards);
  await ensurePostgres(o, say);
  const persistence = persistenceOf(o);
  await ensureSchemas(persistence, binaries.sqlTool, say);
  mkdirSync(join(o.stackDir, 'config'), { recursive: true });
  writeFileSync(f.shards, `${o.historyShards}\n`);
  writeFileSync(f.dynamicConfig, dynamicConfigYaml());
  const config = temporalServerConfigYaml({
    port: o.port,
    historyShards: o.historyShards,
    persistence,
    dynamicConfigFile: f.dynamicConfig,
    logLevel: o.logLevel,
  });
  const running = readPid(f.pid);
  const same = existsSync(f.config) && readFileSync(f.config, 'utf8') === config;
  if (running !== undefined && !same) {
    say(`restarting the Temporal server (pid ${running}): its configuration changed`);
    await stopPid(running);
  }
  // It holds the database password (with --pg-url): readable by its owner only.
  writeFileSync(f.config, config, { mode: 0o600 });
  chmodSync(f.config, 0o600);
  let pid = running !== undefined && same ? running : undefined;
  if (pid === undefined) {
    say(
      `starting temporal-server on ${productionTemporalAddress(o)} (${o.historyShards} history shards; log: ${f.log})`,
    );
    pid = startDetached({
      command: binaries.server,
      args: ['--config-file', f.config, '--allow-no-auth', 'start'],
      logFile: f.log,
      pidFile: f.pid,
    });
  }
  const address = productionTemporalAddress(o);
  const alive = () => readPid(f.pid) !== undefined;
  const connected = await waitFor(
    async () => {
      try {
        const connection = await Connection.connect({ address, connectTimeout: 2000 });
        await connection.workflowService.getSystemInfo({});
        await connection.close();
        return { ok: true, detail: 'answers' };
      } catch (error) {
        return { ok: false, detail: errorText(error) };
      }
    },
    120_000,
    alive,
  );
  if (!connected.ok)
    throw new Error(`temporal-server did not answer on ${address}: ${connected.detail}\n${logTail(f.log)}`);
  const connection = await Connection.connect({ address });
  try {
    await registerNamespace(connection, o.namespace, say, alive);
    const ready = await waitFor(() => probeStart(connection, o.namespace), 90_000, alive);
    if (!ready.ok)
      throw new Error(
        `temporal-server on ${address} cannot start a product workflow: ${ready.detail}\n${logTail(f.log)}`,
      );
  } finally {
    await connection.close();
  }
  say(`temporal-server ready on ${address} (pid ${pid}, namespace ${o.namespace})`);
  return { address, pid, logFile: f.log };
}

/** Stops the server and the PostgreSQL this started (never a given --pg-url's). */
export async function stopProductionTemporal(o: ProductionTemporalOptions): Promise<string[]> {
  const stopped: string[] = [];
  const pid = readPid(files(o).pid);
  if (pid !== undefined) {
    await stopPid(pid, 30_000);
    stopped.push(`temporal-server (pid ${pid})`);
  }
  if (!o.pgUrl && (await ownPostgres(o).stop())) stopped.push(`PostgreSQL on port ${o.pgPort}`);
  return stopped;
}

export async function productionTemporalStatus(o: ProductionTemporalOptions): Promise<string[]> {
  const f = files(o);
  const pid = readPid(f.pid);
  const lines = [
    `temporal-server: ${pid ? `running, pid ${pid}` : 'not running'} (${productionTemporalAddress(o)}, log ${f.log})`,
  ];
  if (!o.pgUrl) {
    const probe = await ownPostgres(o).probe();
    lines.push(`PostgreSQL: ${probe.ok ? 'answers' : 'not answering'} (${probe.detail})`);
  }
  return lines;
}
