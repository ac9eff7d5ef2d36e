/**
 * The SQL seed 001 (../shared/seeds/001_*.txt, "P8FS workers") tells a user to run, taken from the text
 * as written: the verify queries of its self-test (`mysql … -e "SELECT …"`, `psql … -c "SELECT …"`), the
 * queries of its "Monitor Database" block, and the columns of its "Database Tables" DDL.
 *
 * The seed's SQL is MySQL (TiDB) flavoured; toPostgres translates the one MySQL-only form it uses,
 * `INTERVAL 1 HOUR`, to PostgreSQL's `INTERVAL '1 hour'`, and nothing else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** ../shared/seeds beside the project root (tests run from the project root). */
export const SEEDS_DIR = resolve(process.cwd(), '../shared/seeds');

export function seed001(): string {
  const name = readdirSync(SEEDS_DIR).find((file) => /^001_.*\.txt$/.test(file));
  if (!name) throw new Error(`no 001_*.txt in ${SEEDS_DIR}: the seeds must lie beside the project`);
  return readFileSync(join(SEEDS_DIR, name), 'utf8');
}

export interface SeedQuery {
  /** The comment above it in the seed, or where it was found. */
  title: string;
  /** As written in the seed. */
  sql: string;
}

/** MySQL's `INTERVAL 1 HOUR` → PostgreSQL's `INTERVAL '1 hour'`; the rest stays as written. */
export function toPostgres(sql: string): string {
  return sql.replace(
    /INTERVAL\s+(\d+)\s+(SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|YEAR)\b/gi,
    (_all, n: string, unit: string) => `INTERVAL '${n} ${unit.toLowerCase()}'`,
  );
}

/** The self-test's verify queries: every `-e "SELECT …"` / `-c "SELECT …"` of a shell line, once each. */
export function verifyQueries(text = seed001()): SeedQuery[] {
  const joined = text.replace(/\\\n\s*/g, ' '); // shell line continuations
  const found = new Map<string, SeedQuery>();
  for (const match of joined.matchAll(/(mysql|psql)\b[^\n]*?\s-[ec]\s+"(SELECT[^"]+)"/g)) {
    const sql = (match[2] as string).replace(/\s+/g, ' ').trim();
    if (!found.has(sql)) found.set(sql, { title: `${match[1]} line`, sql });
  }
  return [...found.values()];
}

/** The statements of the ```sql block under "### Monitor Database", each with the comment above it. */
export function monitoringQueries(text = seed001()): SeedQuery[] {
  const block = /### Monitor Database\s*```sql\n([\s\S]*?)```/.exec(text)?.[1];
  if (!block) throw new Error('seed 001 has no ```sql block under "### Monitor Database"');
  const queries: SeedQuery[] = [];
  let title = '';
  let lines: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('--')) title = line.replace(/^--\s*/, '');
    else if (line.trim()) lines.push(line.trim());
    if (line.trim().endsWith(';')) {
      queries.push({ title, sql: lines.join(' ') });
      lines = [];
    }
  }
  return queries;
}

/** table → its columns, from the CREATE TABLE statements of the seed's "Database Tables" section. */
export function seedTableColumns(text = seed001()): Map<string, string[]> {
  const tables = new Map<string, string[]>();
  for (const match of text.matchAll(/CREATE TABLE (\w+) \(([\s\S]*?)\n\);/g)) {
    const columns = (match[2] as string)
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !/^(INDEX|KEY|PRIMARY|UNIQUE|CONSTRAINT)\b/i.test(line))
      .map((line) => line.split(/\s+/)[0] as string);
    tables.set(match[1] as string, columns);
  }
  return tables;
}
