/**
 * Is the database at the latest migration this code knows? Workers ask before they take work: against a
 * schema that is missing or behind, every file would fail permanently (`relation "jobs" does not exist`
 * is a class-42 error) and stay failed after the migration, since a version runs once. A database ahead
 * of the code (a newer release migrated it) is fine: migrations only add.
 */
import type pg from 'pg';
import { appliedMigrations, loadMigrations, type Migration, originalTablesPresent } from './migrate.js';

export type SchemaState =
  | { kind: 'current'; version: number }
  /** original: the database holds the original P8FS's tables, which `p8fs migrate` adopts. */
  | { kind: 'missing'; original: boolean }
  | { kind: 'behind'; pending: Migration[] };

/** The known migrations the database has not applied, in order. */
export function pendingMigrations(applied: ReadonlyMap<number, string>, known: Migration[]): Migration[] {
  return known.filter((migration) => !applied.has(migration.version));
}

/** Reads schema_migrations (read-only: unlike `migrate`, it creates nothing). */
export async function schemaState(client: pg.ClientBase, known = loadMigrations()): Promise<SchemaState> {
  const table = await client.query<{ found: string | null }>(
    "SELECT to_regclass('schema_migrations')::text AS found",
  );
  if (!table.rows[0]?.found)
    return { kind: 'missing', original: (await originalTablesPresent(client)).length > 0 };
  const pending = pendingMigrations(await appliedMigrations(client), known);
  if (pending.length > 0) return { kind: 'behind', pending };
  return { kind: 'current', version: Math.max(0, ...known.map((m) => m.version)) };
}

/** Why `state` is not ready, naming the command that fixes it; undefined when it is current. */
export function schemaProblem(database: string, state: SchemaState): string | undefined {
  const fix = 'run `p8fs migrate` (`p8fs stack up` runs it too)';
  if (state.kind === 'missing' && state.original)
    return `database ${database} holds the original P8FS's tables, not yet adopted: ${fix}; it adds our columns and keeps their rows`;
  if (state.kind === 'missing') return `database ${database} has no schema (no schema_migrations): ${fix}`;
  if (state.kind === 'behind') {
    const names = state.pending.map((m) => `${m.version}_${m.name}`).join(', ');
    return `database ${database} lacks ${state.pending.length} migration(s) this code needs (${names}): ${fix}`;
  }
  return undefined;
}
