/** A fresh, migrated database per test file, dropped afterwards. */
import type pg from 'pg';
import { connectClient, createPool } from '../../src/clients/postgres.js';
import type { Config } from '../../src/config/config.js';
import { migrate } from '../../src/db/migrate.js';

async function admin<T>(cfg: Config, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectClient(cfg, 'postgres');
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(cfg: Config): Promise<pg.Pool> {
  await admin(cfg, (client) => client.query(`CREATE DATABASE "${cfg.pg.database}"`));
  const pool = createPool(cfg);
  const client = await pool.connect();
  try {
    await migrate(client);
  } finally {
    client.release();
  }
  return pool;
}

export async function dropTestDatabase(cfg: Config, pool: pg.Pool): Promise<void> {
  await pool.end();
  await admin(cfg, (client) => client.query(`DROP DATABASE IF EXISTS "${cfg.pg.database}" WITH (FORCE)`));
}
