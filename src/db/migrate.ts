/**
 * Versioned SQL migrations (src/db/migrations/NNNN_name.sql), applied in order, each in its own
 * transaction. A session-level advisory lock serialises concurrent `p8fs migrate` runs: the second
 * waits, then finds nothing pending. A checksum catches an applied file that was edited afterwards.
 *
 * A database the original P8FS built (its tables files, resources, jobs, errors, moments, sessions and
 * no schema_migrations) is adopted first: adopt-original-p8fs.sql (beside this module) gives those
 * tables our columns, so the migrations then apply as on an empty database and the original's rows stay
 * in place.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { connectClient, pgAddress } from '../clients/postgres.js';
import type { Config } from '../config/config.js';
import { errorText } from '../domain/errors.js';
import { databaseName, ensureDatabase } from './ensure-database.js';

const LOCK_KEY = 0x7038_6673; // 'p8fs' — any constant shared by every migrating process

/** The tables the original P8FS creates that we create too; all present means its schema is there. */
export const ORIGINAL_P8FS_TABLES = ['files', 'resources', 'jobs', 'errors', 'moments', 'sessions'] as const;

/**
 * Earlier checksums of applied migrations that were edited in a way that changes nothing where they
 * already ran: 0001 and 0003 gained IF NOT EXISTS on the tables the original P8FS shares with us, then
 * their comment saying so named the adoption file's new place. A database recording one of these gets
 * the current checksum instead.
 */
const EARLIER_CHECKSUMS: ReadonlyMap<number, readonly string[]> = new Map([
  [
    1,
    [
      '6340b69ad886f3588b654e6196d5b06fbc17e553dd0b818946715ec5ed18b5f9',
      '29d9fb99fc615f2992f68e937b418c737d66d42e5a6dde3a81bc09afab132443',
    ],
  ],
  [
    3,
    [
      '462879447359a3f022d94911abe7425ce9825a8e955fd2a3b8216e8f2ffdaf01',
      '159221474d370d70904fc6035084669fd8cafb0593ec41c1c9fcd475e3b13964',
    ],
  ],
]);

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** Beside this module, in src/ and in dist/ alike (the build copies the SQL files), so no image needs src/. */
export function migrationsDir(): string {
  return fileURLToPath(new URL('./migrations/', import.meta.url));
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = /^(\d+)_(.+)\.sql$/.exec(file);
      if (!match) throw new Error(`migration file name must look like 0001_name.sql: ${join(dir, file)}`);
      const sql = readFileSync(join(dir, file), 'utf8');
      return {
        version: Number(match[1]),
        name: match[2] as string,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

/** version → checksum of every migration the database records as applied (schema_migrations must exist). */
export async function appliedMigrations(client: pg.ClientBase): Promise<Map<number, string>> {
  const rows = await client.query<{ version: number; checksum: string }>(
    'SELECT version, checksum FROM schema_migrations',
  );
  return new Map(rows.rows.map((row) => [row.version, row.checksum]));
}

export async function migrate(
  client: pg.ClientBase,
  say: (line: string) => void = () => undefined,
): Promise<Migration[]> {
  const migrations = loadMigrations();
  await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = await appliedMigrations(client);
    if (applied.size === 0) await adoptOriginalSchema(client, say);
    const done: Migration[] = [];
    for (const migration of migrations) {
      const checksum = applied.get(migration.version);
      if (checksum !== undefined) {
        if (EARLIER_CHECKSUMS.get(migration.version)?.includes(checksum)) {
          await client.query('UPDATE schema_migrations SET checksum = $2 WHERE version = $1', [
            migration.version,
            migration.checksum,
          ]);
        } else if (checksum !== migration.checksum) {
          throw new Error(
            `migration ${migration.version}_${migration.name} was changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      say(`applying migration ${migration.version}_${migration.name}`);
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        const reason = errorText(error);
        throw new Error(`migration ${migration.version}_${migration.name} failed: ${reason}`, {
          cause: error,
        });
      }
      done.push(migration);
    }
    return done;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
  }
}

/** The original P8FS's tables of ORIGINAL_P8FS_TABLES this database has (in the search path's schema). */
export async function originalTablesPresent(client: pg.ClientBase): Promise<string[]> {
  const found = await client.query<{ name: string }>(
    'SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL',
    [ORIGINAL_P8FS_TABLES],
  );
  return found.rows.map((row) => row.name);
}

/** Before our first migration: when the original P8FS's tables are there, give them our columns. */
async function adoptOriginalSchema(client: pg.ClientBase, say: (line: string) => void): Promise<void> {
  const present = await originalTablesPresent(client);
  if (present.length === 0) return;
  if (present.length < ORIGINAL_P8FS_TABLES.length) {
    const missing = ORIGINAL_P8FS_TABLES.filter((name) => !present.includes(name));
    throw new Error(
      `the database has some of the original P8FS's tables (${present.join(', ')}) but not ${missing.join(', ')}, ` +
        'so it can be neither adopted nor migrated from empty: point P8FS_PG_DATABASE at the database P8FS uses, ' +
        'or create the missing tables with its schema (p8fs/extensions/sql/01_entity_schema.sql) first',
    );
  }
  say(`adopting the original P8FS's tables (${present.join(', ')}): adding our columns, keeping its rows`);
  const sql = readFileSync(fileURLToPath(new URL('./adopt-original-p8fs.sql', import.meta.url)), 'utf8');
  await client.query('BEGIN');
  try {
    await client.query(sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new Error(`adopting the original P8FS's tables failed (nothing was changed): ${errorText(error)}`, {
      cause: error,
    });
  }
}

/**
 * What `p8fs migrate` and `p8fs stack up` do: create the project's database when the server has none,
 * then apply the pending migrations. Says what it did through `say`.
 */
export async function migrateDatabase(
  cfg: Config,
  say: (line: string) => void,
): Promise<{ created: boolean; applied: Migration[] }> {
  const admin = await connectClient(cfg, 'postgres');
  let created: boolean;
  try {
    created = await ensureDatabase(admin, databaseName(cfg));
  } finally {
    await admin.end();
  }
  if (created) say(`created database ${databaseName(cfg)}`);
  const client = await connectClient(cfg);
  try {
    const applied = await migrate(client, say);
    say(`${pgAddress(cfg)}: ${applied.length === 0 ? 'up to date' : `${applied.length} applied`}`);
    return { created, applied };
  } finally {
    await client.end();
  }
}
