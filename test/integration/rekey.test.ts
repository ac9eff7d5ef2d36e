/**
 * Re-keying rows our earlier releases wrote (src/db/rekey.ts, src/db/files/rekey-rows.ts) on the test-stack
 * PostgreSQL, in a fresh migrated database of this file: files and resources written with the earlier
 * recipe (ids uuid5 of the whole path in our namespace, chunks named after the file and its folder), a
 * moment and an errors row pointing at one of them, get the original P8FS's ids, names, category and uri
 * with their content and metadata kept, counted; a second pass changes nothing; a row the original P8FS
 * wrote for the same file is replaced by ours; and a new event for a path still under its old id re-keys
 * that file on the spot (upsertFile), so an upgrade works before anyone runs `p8fs migrate --rekey`.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { upsertFile } from '../../src/db/files/index.js';
import { rekeyFiles } from '../../src/db/rekey.js';
import {
  fileIdFor,
  legacyFileIdFor,
  legacyResourceIdFor,
  P8FS_NAMESPACE,
  resourceIdFor,
  uuidV5,
} from '../../src/domain/ids.js';
import type { StorageEvent } from '../../src/domain/storage-event.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { fileChunks } from '../support/file-chunks.js';
import { isolatedConfig, uniqueTenant } from '../support/test-stack.js';

let cfg: Config;
let pool: pg.Pool;
const tenant = uniqueTenant('rekey');
const modified = '2026-10-01T08:00:00.000Z';

beforeAll(async () => {
  cfg = isolatedConfig('rekey');
  pool = await createTestDatabase(cfg);
}, 60_000);

afterAll(async () => {
  if (pool) await dropTestDatabase(cfg, pool);
});

function eventFor(key: string): StorageEvent {
  const parts = key.split('/');
  return {
    type: 'create',
    path: `/buckets/${tenant}/${key}`,
    bucket: tenant,
    key,
    tenantId: tenant,
    category: parts.length > 1 ? (parts[0] as string) : 'uncategorized',
    fileName: parts.at(-1) as string,
  };
}

/** A file and its chunks as releases before the original's ids wrote them. */
async function legacyFile(key: string, chunks: string[]): Promise<{ oldId: string; newId: string }> {
  const event = eventFor(key);
  const oldId = legacyFileIdFor(tenant, event.path);
  await pool.query(
    `INSERT INTO files (id, tenant_id, uri, path, name, category, status, chunk_count, version)
     VALUES ($1, $2, $3, $4, $5, $6, 'completed', $7, 'v1')`,
    [oldId, tenant, `s3://${tenant}/${key}`, event.path, event.fileName, event.category, chunks.length],
  );
  for (const [ordinal, content] of chunks.entries()) {
    await pool.query(
      `INSERT INTO resources (id, tenant_id, file_id, name, category, content, ordinal, uri, metadata, resource_timestamp)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        legacyResourceIdFor(oldId, ordinal),
        tenant,
        oldId,
        event.fileName,
        event.category,
        content,
        ordinal,
        `s3://${tenant}/${key}`,
        JSON.stringify({ provider: 'text', version: 'v1', heading: `part ${ordinal}` }),
        modified,
      ],
    );
  }
  return { oldId, newId: fileIdFor(tenant, event.path) };
}

describe('p8fs migrate --rekey', () => {
  it("gives earlier releases' rows the original P8FS's ids and shapes, once", async () => {
    const report = await legacyFile('reports/Quarterly.pdf', ['first part', 'second part']);
    const other = await legacyFile('notes/todo.txt', ['one chunk']);
    const momentId = uuidV5(`moment:${tenant}:x:0`, P8FS_NAMESPACE);
    await pool.query(
      `INSERT INTO moments (id, tenant_id, file_id, name, content) VALUES ($1, $2, $3, 'a moment', 'text')`,
      [momentId, tenant, report.oldId],
    );
    await pool.query(
      `INSERT INTO errors (tenant_id, process, message, metadata) VALUES ($1, 'ingestFile', 'boom', $2)`,
      [tenant, JSON.stringify({ file_id: other.oldId })],
    );

    const lines: string[] = [];
    const first = await rekeyFiles(pool, (line) => lines.push(line));
    expect(first).toMatchObject({ rekeyed: 2, resources: 3, moments: 1, errors: 1, replacedOriginal: 0 });
    expect(lines.at(-1)).toMatch(
      /files checked, 2 re-keyed \(3 resources, 1 moments, 1 errors rows\): done$/,
    );

    const files = await pool.query('SELECT id, metadata FROM files WHERE tenant_id = $1 ORDER BY path', [
      tenant,
    ]);
    expect(files.rows).toEqual([
      { id: other.newId, metadata: { name: 'todo.txt', s3_key: `/buckets/${tenant}/notes/todo.txt` } },
      {
        id: report.newId,
        metadata: { name: 'Quarterly.pdf', s3_key: `/buckets/${tenant}/reports/Quarterly.pdf` },
      },
    ]);
    const rows = await fileChunks(pool, report.newId);
    expect(rows.map((r) => [r.id, r.name, r.category, r.uri, r.content])).toEqual([
      [
        resourceIdFor(report.newId, 0),
        'Quarterly_chunk_0',
        'content_chunk',
        'reports/Quarterly.pdf#chunk_0',
        'first part',
      ],
      [
        resourceIdFor(report.newId, 1),
        'Quarterly_chunk_1',
        'content_chunk',
        'reports/Quarterly.pdf#chunk_1',
        'second part',
      ],
    ]);
    expect(rows[1]?.metadata).toEqual({
      file_id: report.newId,
      chunk_index: 1,
      chunk_type: 'text',
      file_mtime: modified,
      file_ctime: modified,
      provider: 'text',
      version: 'v1',
      heading: 'part 1',
      file_name: 'Quarterly.pdf',
      file_category: 'reports',
      file_uri: `s3://${tenant}/reports/Quarterly.pdf`,
    });
    const moment = await pool.query('SELECT file_id FROM moments WHERE id = $1', [momentId]);
    expect(moment.rows).toEqual([{ file_id: report.newId }]);
    const error = await pool.query(`SELECT metadata->>'file_id' AS id FROM errors WHERE tenant_id = $1`, [
      tenant,
    ]);
    expect(error.rows).toEqual([{ id: other.newId }]);

    const again = await rekeyFiles(pool);
    expect(again).toMatchObject({ rekeyed: 0, resources: 0 });
    expect(again.checked).toBeGreaterThanOrEqual(2);
  });

  it('replaces a row the original P8FS wrote for the same file with ours', async () => {
    const mine = await legacyFile('content/Sample.md', ['ours']);
    // The original's files row has no path; its chunk names the file in metadata only.
    await pool.query(
      `INSERT INTO files (id, tenant_id, uri, path, name, category, status)
      VALUES ($1, $2, $3, $4, 'Sample.md', 'content', 'completed')`,
      [mine.newId, tenant, `/buckets/${tenant}/content/Sample.md`, `/original/${tenant}/content/Sample.md`],
    );
    await pool.query(
      `INSERT INTO resources (id, tenant_id, name, category, content, ordinal, metadata)
       VALUES ($1, $2, 'Sample_chunk_0', 'content_chunk', 'theirs', 0, $3)`,
      [resourceIdFor(mine.newId, 0), tenant, JSON.stringify({ file_id: mine.newId, chunk_index: 0 })],
    );
    const report = await rekeyFiles(pool);
    expect(report).toMatchObject({ rekeyed: 1, replacedOriginal: 1 });
    const rows = await fileChunks(pool, mine.newId);
    expect(rows.map((r) => [r.id, r.name, r.content])).toEqual([
      [resourceIdFor(mine.newId, 0), 'Sample_chunk_0', 'ours'],
    ]);
    const count = await pool.query(
      'SELECT count(*)::int AS n FROM resources WHERE tenant_id = $1 AND name = $2',
      [tenant, 'Sample_chunk_0'],
    );
    expect(count.rows).toEqual([{ n: 1 }]);
  });

  it('re-keys a file on its next event, before any --rekey pass', async () => {
    const file = await legacyFile('inbox/letter.txt', ['dear reader']);
    await upsertFile(pool, {
      fileId: file.newId,
      event: eventFor('inbox/letter.txt'),
      version: 'v2',
      status: 'processing',
    });
    const files = await pool.query('SELECT id, version FROM files WHERE tenant_id = $1 AND path LIKE $2', [
      tenant,
      '%/inbox/letter.txt',
    ]);
    expect(files.rows).toEqual([{ id: file.newId, version: 'v2' }]);
    const rows = await fileChunks(pool, file.newId);
    expect(rows.map((r) => [r.id, r.name])).toEqual([[resourceIdFor(file.newId, 0), 'letter_chunk_0']]);
  });
});
