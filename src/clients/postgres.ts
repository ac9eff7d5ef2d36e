import pg from 'pg';
import type { Config } from '../config/config.js';
import { errorText } from '../domain/errors.js';

// bigint columns (file_size) come back as numbers: our sizes stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function createPool(cfg: Config, max = 10): pg.Pool {
  const pool = new pg.Pool({ ...pgClientConfig(cfg), max, connectionTimeoutMillis: 5000 });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return pool;
}

/** One connection, to the project's database or to `database` (e.g. 'postgres' for admin work). */
export async function connectClient(cfg: Config, database?: string): Promise<pg.Client> {
  const client = new pg.Client({ ...pgClientConfig(cfg, database), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL at ${pgAddress(cfg)} unreachable: ${errorText(error)}`);
  }
  return client;
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

export function pgAddress(cfg: Config): string {
  if (cfg.pg.connectionString) {
    const url = new URL(cfg.pg.connectionString);
    return `${url.hostname}:${url.port || 5432}${url.pathname}`;
  }
  return `${cfg.pg.host}:${cfg.pg.port}/${cfg.pg.database}`;
}
