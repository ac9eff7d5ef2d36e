import pg from 'pg';
import type { Config } from '../config/config.js';
import { redactSecrets } from '../config/redact.js';
import { errorText } from '../domain/errors.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { unreachableError } from './unreachable.js';

// bigint columns (file_size) come back as numbers: our sizes stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * Watches a pool's connections. pg emits 'error' on a client whose server went away (a restart, a
 * failover, an idle timeout): on an idle client through the pool, and on a checked-out client (one
 * inside a transaction, or between two queries of an activity) directly. An 'error' nobody listens to
 * crashes the process, so every client gets a listener the moment the pool creates it. The loss is
 * logged once at warn per outage (the next successful connection logs the recovery); the queries in
 * flight fail, and their callers (activities) fail retryably and succeed once the server is back.
 */
function connectionWatch(cfg: Config, given?: Logger) {
  let log = given;
  const logger = () => {
    log ??= createLogger(cfg, 'p8fs-postgres');
    return log;
  };
  let away = false;
  return {
    lost(error: Error) {
      const fields = { database: pgAddress(cfg), error: redactSecrets(errorText(error)) };
      if (away) {
        logger().debug(fields, 'another PostgreSQL connection lost');
        return;
      }
      away = true;
      logger().warn(
        fields,
        'PostgreSQL connection lost: queries fail (and activities retry) until the server is back',
      );
    },
    connected() {
      if (!away) return;
      away = false;
      logger().info({ database: pgAddress(cfg) }, 'PostgreSQL connection restored');
    },
  };
}

/**
 * A pool whose connections may die without taking the process with them (see connectionWatch). `log`:
 * where the loss of the server is reported (default: a `p8fs-postgres` logger, created when needed).
 */
export function createPool(cfg: Config, max = 10, log?: Logger): pg.Pool {
  const pool = new pg.Pool({ ...pgClientConfig(cfg), max, connectionTimeoutMillis: 5000 });
  const watch = connectionWatch(cfg, log);
  // An idle client losing its server: the pool has already removed it.
  pool.on('error', (error) => watch.lost(error));
  // Every client, for as long as it lives, including while checked out: pg-pool only listens while idle.
  pool.on('connect', (client) => {
    client.on('error', (error) => watch.lost(error));
    watch.connected();
  });
  return pool;
}

/** One connection, to the project's database or to `database` (e.g. 'postgres' for admin work). */
export async function connectClient(cfg: Config, database?: string): Promise<pg.Client> {
  const client = new pg.Client({ ...pgClientConfig(cfg, database), connectionTimeoutMillis: 5000 });
  // A server that goes away between two queries must fail the next query, not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    const reason = redactSecrets(errorText(error));
    // The server answered but has no such database: `p8fs migrate` creates it.
    if ((error as { code?: string }).code === '3D000') {
      throw new Error(
        `PostgreSQL at ${pgAddress(cfg)}: ${reason}; run \`p8fs migrate\` (or \`p8fs stack up\`) to create it, or set ${pgVariables(cfg).database}`,
        { cause: error },
      );
    }
    throw unreachableError(`PostgreSQL at ${pgAddress(cfg)}`, pgVariables(cfg).server, reason, error);
  }
  return client;
}

/** The variables that point at the server and name the database, as this configuration sets them. */
export function pgVariables(cfg: Config): { server: string; database: string } {
  return cfg.pg.connectionString
    ? { server: 'DATABASE_URL', database: 'DATABASE_URL' }
    : { server: 'P8FS_PG_HOST and P8FS_PG_PORT', database: 'P8FS_PG_DATABASE' };
}

export function pgClientConfig(cfg: Config, database?: string): pg.ClientConfig {
  if (cfg.pg.connectionString) {
    if (!database) return { connectionString: cfg.pg.connectionString };
    const url = new URL(cfg.pg.connectionString);
    url.pathname = `/${database}`;
    return { connectionString: url.toString() };
  }
  return {
    host: cfg.pg.host,
    port: cfg.pg.port,
    user: cfg.pg.user,
    password: cfg.pg.password,
    database: database ?? cfg.pg.database,
  };
}

/** host:port/database for messages: never the user's password (nor the URL's query, which may hold one). */
export function pgAddress(cfg: Config): string {
  if (cfg.pg.connectionString) {
    try {
      const url = new URL(cfg.pg.connectionString);
      return `${url.hostname}:${url.port || 5432}${url.pathname}`;
    } catch {
      return redactSecrets(cfg.pg.connectionString);
    }
  }
  return `${cfg.pg.host}:${cfg.pg.port}/${cfg.pg.database}`;
}

/** Runs `fn` with a small pool of its own and ends the pool afterwards: for one-shot commands. */
export async function withPool<T>(cfg: Config, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = createPool(cfg, 2);
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}
