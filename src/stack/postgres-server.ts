import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { pgAddress, pgClientConfig, pgVariables } from '../clients/postgres.js';
import type { Config } from '../config/config.js';
import { databaseName, ensureDatabase } from '../db/ensure-database.js';
import { errorText } from '../domain/errors.js';
import { LOOPBACK, type ServerSpec } from './server-spec.js';

/** The newest PostgreSQL server binaries Debian installed (also used by tests that run a private cluster). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql; run `make setup`');
  }
  return join(root, versions[0] as string, 'bin');
}

/** initdb refuses to run as root: as root we run the PostgreSQL binaries as the `postgres` user. */
function runPg(binary: string, args: string[]): void {
  const full = join(postgresBinDir(), binary);
  if (process.getuid?.() === 0)
    execFileSync('runuser', ['-u', 'postgres', '--', full, ...args], { stdio: 'pipe' });
  else execFileSync(full, args, { stdio: 'pipe' });
}

function giveToPostgres(path: string): void {
  mkdirSync(path, { recursive: true });
  if (process.getuid?.() !== 0) return;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(path, uid, gid);
}

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

function postgresCanReach(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('runuser', ['-u', 'postgres', '--', 'test', '-x', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function postgresServer(cfg: Config, stackDir: string): ServerSpec {
  const baseDir = postgresBaseDir(stackDir);
  const dataDir = join(baseDir, 'data');
  const socketDir = join(baseDir, 'run');
  const logFile = join(baseDir, 'postgres.log');
  const host = cfg.pg.connectionString ? new URL(cfg.pg.connectionString).hostname : cfg.pg.host;
  const port = cfg.pg.connectionString ? Number(new URL(cfg.pg.connectionString).port || 5432) : cfg.pg.port;
  const database = databaseName(cfg);
  return {
    name: 'postgres',
    endpoints: { address: pgAddress(cfg) },
    local: LOOPBACK.has(host),
    variable: pgVariables(cfg).server,
    logFile,
    async probe() {
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
    },
    async stop() {
      if (!existsSync(join(dataDir, 'postmaster.pid'))) return false;
      runPg('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
      return true;
    },
  };
}
