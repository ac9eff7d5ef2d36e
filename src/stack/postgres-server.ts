import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { pgAddress, pgClientConfig, pgVariables } from '../clients/postgres.js';
import type { Config } from '../config/config.js';
import { databaseName, ensureDatabase } from '../db/ensure-database.js';
import { errorText } from '../domain/errors.js';
import {
  dataDirMajor,
  giveToPostgres,
  type PostgresInstall,
  postgresCanReach,
  postgresInstall,
  runPg,
} from './postgres-binaries.js';
import { isAlive } from './processes.js';
import { LOOPBACK, type ServerSpec } from './server-spec.js';

export { postgresBinDir } from './postgres-binaries.js';

/**
 * Where the PostgreSQL cluster lives. As root the server runs as the `postgres` user, which cannot reach a
 * stack folder below a private directory (a clone in /root or in a mode-700 temp dir): then the cluster
 * goes to /var/tmp, in a folder named after the stack folder so each stack keeps its own.
 */
export function postgresBaseDir(stackDir: string): string {
  const inStack = join(stackDir, 'data', 'postgres');
  if (process.getuid?.() !== 0 || postgresCanReach(stackDir)) return inStack;
  return join(
    '/var/tmp',
    `p8fs-postgres-${createHash('sha256').update(stackDir).digest('hex').slice(0, 12)}`,
  );
}

export interface PostgresServerOptions {
  /**
   * The data may be thrown away (the test stack): a data folder another major version initialised is
   * then made anew instead of refused.
   */
  disposableData?: boolean;
}

/** Why a data folder cannot be opened by these binaries, with what to do; undefined when it can. */
export function dataDirMismatch(
  dataDir: string,
  baseDir: string,
  binaries: PostgresInstall,
): string | undefined {
  const major = dataDirMajor(dataDir);
  if (major === undefined || major === binaries.major) return undefined;
  return (
    `the PostgreSQL data in ${dataDir} was initialised by PostgreSQL ${major}; the stack now runs PostgreSQL ` +
    `${binaries.major} with pgvector (${binaries.source}), which cannot open it. To start with an empty ` +
    `database: \`p8fs stack down\`, \`rm -rf ${baseDir}\`, \`p8fs stack up\` (then ingest the files again). ` +
    `To keep the rows, dump them with the old server first (${
      major === 15 ? '/usr/lib/postgresql/15/bin/' : ''
    }pg_dumpall against it) and restore the dump into the new one`
  );
}

/** postmaster's pid from its pid file while that process lives. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops a server of another major version by signal (SIGINT is PostgreSQL's fast shutdown), since this
 * version's pg_ctl is not meant to drive it; SIGKILL after a minute.
 */
async function stopBySignal(pid: number): Promise<void> {
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 60_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
    await sleep(200);
  }
}

/**
 * Several processes bring the shared test stack up at once (parallel test runs): one at a time may
 * initialise, replace or start the cluster. A lock folder holding the owner's pid; a dead owner's is taken.
 */
async function withStartLock<T>(baseDir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(baseDir, '.start.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
      if (owner > 0 && !isAlive(owner)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`${lock} is held by pid ${owner} for 3 minutes`);
      else await sleep(250);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function postgresServer(
  cfg: Config,
  stackDir: string,
  options: PostgresServerOptions = {},
): ServerSpec {
  const baseDir = postgresBaseDir(stackDir);
  const dataDir = join(baseDir, 'data');
  const socketDir = join(baseDir, 'run');
  const logFile = join(baseDir, 'postgres.log');
  const host = cfg.pg.connectionString ? new URL(cfg.pg.connectionString).hostname : cfg.pg.host;
  const port = cfg.pg.connectionString ? Number(new URL(cfg.pg.connectionString).port || 5432) : cfg.pg.port;
  const database = databaseName(cfg);
  const localMismatch = (): string | undefined => {
    if (dataDirMajor(dataDir) === undefined) return undefined;
    try {
      return dataDirMismatch(dataDir, baseDir, postgresInstall());
    } catch {
      return undefined; // no binaries: start() says so with `make setup`
    }
  };
  return {
    name: 'postgres',
    endpoints: { address: pgAddress(cfg) },
    local: LOOPBACK.has(host),
    variable: pgVariables(cfg).server,
    logFile,
    async probe() {
      // Our own cluster on data of another major version (a stack made before PostgreSQL 18) is not
      // healthy even when an old server answers: it has no pgvector. start() replaces or refuses it.
      const mismatch = LOOPBACK.has(host) ? localMismatch() : undefined;
      if (mismatch) return { ok: false, detail: mismatch };
      const client = new pg.Client({ ...pgClientConfig(cfg, 'postgres'), connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        await ensureDatabase(client, database);
        return { ok: true, detail: `PostgreSQL at ${pgAddress(cfg)}` };
      } catch (error) {
        return { ok: false, detail: `PostgreSQL at ${pgAddress(cfg)} unreachable (${errorText(error)})` };
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async start() {
      if (baseDir.startsWith(stackDir)) giveToPostgres(join(stackDir, 'data'));
      giveToPostgres(baseDir);
      giveToPostgres(socketDir);
      await withStartLock(baseDir, async () => {
        const binaries = postgresInstall();
        const mismatch = dataDirMismatch(dataDir, baseDir, binaries);
        if (mismatch && !options.disposableData) throw new Error(mismatch);
        if (mismatch) {
          const old = postmasterPid(dataDir);
          if (old !== undefined) await stopBySignal(old);
          rmSync(dataDir, { recursive: true, force: true });
        }
        // Another process may have started it while we waited for the lock.
        if (postmasterPid(dataDir) !== undefined) return;
        if (!existsSync(join(dataDir, 'PG_VERSION'))) {
          runPg('initdb', ['-D', dataDir, '-U', cfg.pg.user, '--auth=trust', '-E', 'UTF8']);
        }
        runPg('pg_ctl', [
          '-D',
          dataDir,
          '-l',
          logFile,
          '-o',
          `-p ${port} -k ${socketDir} -c listen_addresses=${host === 'localhost' ? '127.0.0.1' : host}`,
          '-w',
          'start',
        ]);
      });
    },
    async stop() {
      const pid = postmasterPid(dataDir);
      if (pid === undefined) return false;
      // A server of an older major version (before the move to 18) is stopped by signal, not pg_ctl.
      if (localMismatch()) await stopBySignal(pid);
      else runPg('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
      return true;
    },
  };
}
