import type pg from 'pg';
import type { Config } from '../config/config.js';

export function databaseName(cfg: Config): string {
  return cfg.pg.connectionString
    ? new URL(cfg.pg.connectionString).pathname.replace(/^\//, '')
    : cfg.pg.database;
}

/** Creates the project's database when the server has none by that name (needs CREATEDB; fine locally). */
export async function ensureDatabase(client: pg.ClientBase, database: string): Promise<boolean> {
  const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if ((exists.rowCount ?? 0) > 0) return false;
  try {
    await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } catch (error) {
    // Two processes racing to create it: the loser sees duplicate_database, which is fine.
    if ((error as { code?: string }).code !== '42P04') throw error;
  }
  return true;
}
