/**
 * `p8fs migrate --rekey`: the one-time pass that gives every files row our earlier releases wrote the
 * original P8FS's ids (src/domain/ids.ts), its resources the original's ids, names, category and uri, and
 * the rows pointing at it the new id (src/db/files/rekey-rows.ts). One transaction per file under its
 * locks, so it may run while workers ingest; idempotent (a second run re-keys nothing), resumable (it
 * walks files in (tenant, path) order and each file is done or not). Ingest re-keys a file on its own
 * when an event for it arrives first, so the pass only brings the files nobody touches into line.
 */
import type pg from 'pg';
import { fileIdFor } from '../domain/ids.js';
import { chunksInLine, type RekeyedFile, rekeyFileRows } from './files/index.js';
import { inTransaction } from './transaction.js';

export interface RekeyReport {
  /** files rows looked at (those with a path: rows the original P8FS wrote have none and its ids). */
  checked: number;
  rekeyed: number;
  resources: number;
  moments: number;
  errors: number;
  /** Rows the original P8FS wrote at a new id, replaced by ours for the same file. */
  replacedOriginal: number;
}

export interface RekeyOptions {
  /** Files read per page. */
  pageSize?: number;
  /** A progress line every this many files checked. */
  progressEvery?: number;
}

export async function rekeyFiles(
  pool: pg.Pool,
  say: (line: string) => void = () => undefined,
  options: RekeyOptions = {},
): Promise<RekeyReport> {
  const pageSize = options.pageSize ?? 500;
  const progressEvery = options.progressEvery ?? 1000;
  const report: RekeyReport = {
    checked: 0,
    rekeyed: 0,
    resources: 0,
    moments: 0,
    errors: 0,
    replacedOriginal: 0,
  };
  let after: { tenantId: string; path: string } | undefined;
  for (;;) {
    // Keyset paging on the (tenant_id, path) unique index: rows re-keyed meanwhile keep their place.
    const page = await pool.query<{ id: string; tenant_id: string; path: string }>(
      `SELECT id, tenant_id, path FROM files
        WHERE path IS NOT NULL AND ($1::text IS NULL OR (tenant_id, path) > ($1, $2))
        ORDER BY tenant_id, path LIMIT $3`,
      [after?.tenantId ?? null, after?.path ?? null, pageSize],
    );
    for (const file of page.rows) {
      report.checked += 1;
      const row = { id: file.id, tenantId: file.tenant_id, path: file.path };
      // Most rows are in line (after a first pass, all): one index lookup each, no lock, no transaction.
      const inLine = fileIdFor(row.tenantId, row.path) === row.id && (await chunksInLine(pool, row.id));
      if (!inLine) {
        const done = await inTransaction(pool, (client) => rekeyFileRows(client, row));
        if (done) add(report, done);
      }
      if (report.checked % progressEvery === 0) say(progress(report));
    }
    const last = page.rows.at(-1);
    if (!last || page.rows.length < pageSize) break;
    after = { tenantId: last.tenant_id, path: last.path };
  }
  say(`${progress(report)}: done`);
  return report;
}

function add(report: RekeyReport, done: RekeyedFile): void {
  report.rekeyed += 1;
  report.resources += done.resources;
  report.moments += done.moments;
  report.errors += done.errors;
  if (done.replacedOriginal) report.replacedOriginal += 1;
}

function progress(r: RekeyReport): string {
  return (
    `${r.checked} files checked, ${r.rekeyed} re-keyed (${r.resources} resources, ${r.moments} moments, ` +
    `${r.errors} errors rows${r.replacedOriginal ? `, ${r.replacedOriginal} rows of the original P8FS replaced` : ''})`
  );
}
