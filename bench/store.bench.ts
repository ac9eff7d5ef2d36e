/**
 * Storing resources: our `replaceResources` (one transaction, COPY FROM STDIN through the client,
 * src/db/copy-rows.ts) against the multi-row INSERT it used before (500 rows per statement), INSERT …
 * SELECT FROM unnest(arrays), and server-side COPY from a file (the server's ingest limit for these rows:
 * no per-row statement and no client transfer), writing the same rows into `resources` of fresh, migrated
 * databases on the test-stack PostgreSQL. Every candidate runs in one transaction that first deletes the
 * file's rows, like replaceResources, and starts from an empty table.
 *
 * The full-text search costs a large share of storing: a stored generated tsvector column (to_tsvector
 * 'english' of name, heading and content, computed by the server for every row) and its GIN index. Two
 * more databases show that share honestly, each against its own server-side COPY limit: one without the
 * GIN index (the vector is still computed), one without the column and its index (no search at all).
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { copyTextRows } from '../src/db/copy-rows.js';
import { inTransaction } from '../src/db/transaction.js';
import type { Chunk } from '../src/domain/chunking.js';
import type { ExtractedDocument } from '../src/domain/content.js';
import type { StorageEvent } from '../src/domain/storage-event.js';
import {
  type BenchSection,
  errorMessage,
  fixed,
  int,
  markdownTable,
  median,
  progress,
  samplesDir,
  textOf,
} from './lib.js';

// 10,000 rows keep the nine candidates × three rounds near three minutes on a loaded 2-core machine.
const DEFAULT_ROWS = 10_000;
const RUNS = 3;
const BATCH = 500;
const ROW_BYTES = 1_000;
const DOCUMENTS = [
  'content/Sample.pdf',
  'content/Sample.md',
  'content/Sample.docx',
  'content/diary_sample.md',
];
const COLUMNS = 'id, tenant_id, file_id, name, category, content, ordinal, uri, metadata, resource_timestamp';

/** The table layouts measured: the real one, and two with parts of the full-text search removed. */
type Layout = 'full' | 'noGin' | 'noSearch';

const LAYOUTS: Record<Layout, string> = {
  full: 'real table (search_vector generated column + its GIN index)',
  noGin: 'without the GIN index (search_vector still computed)',
  noSearch: 'without search_vector and its GIN index',
};

interface Candidate {
  name: string;
  shape: string;
  layout: Layout;
  /** The database it writes to; reset and checked there. */
  pool: pg.Pool;
  /** The server-side COPY of its layout: what the others of that layout are divided by. */
  limit?: boolean;
  /** Stores `chunks` as the file's resources; resolves when committed. */
  store(chunks: Chunk[]): Promise<void>;
}

interface Result {
  candidate: Candidate;
  times: number[];
}

type Values = [string, string, string, string, string, string, number, string, string, string | null];

/** Pieces of `text` of about `size` UTF-8 bytes, each ending at whitespace where there is some. */
function cutNear(text: string, size: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = start;
    let bytes = 0;
    let lastSpace = -1;
    while (end < text.length && bytes < size) {
      const code = text.codePointAt(end) as number;
      bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      if (code === 0x20 || code === 0x0a) lastSpace = end;
      end += code > 0xffff ? 2 : 1;
    }
    if (end < text.length && lastSpace > start) end = lastSpace;
    const piece = text.slice(start, end).trim();
    if (piece) pieces.push(piece);
    start = end === start ? start + 1 : end;
  }
  return pieces;
}

/** Makes sure the test-stack PostgreSQL answers, starting only that server when it does not. */
async function ensurePostgres(): Promise<string> {
  const { testStackConfig } = await import('../test/support/test-stack.js');
  const { stackServers } = await import('../src/stack/servers.js');
  const { resolveStackDir } = await import('../src/stack/paths.js');
  const { waitFor } = await import('../src/stack/processes.js');
  const cfg = testStackConfig();
  const server = stackServers(cfg, resolveStackDir(cfg.stack.dir)).find((s) => s.name === 'postgres');
  if (!server) throw new Error('no postgres server in the stack definition');
  const first = await server.probe();
  if (first.ok) return `reused the running ${first.detail}`;
  if (!server.local) throw new Error(`${first.detail}; not on loopback, so not started here`);
  progress(`store: ${first.detail}; starting the test stack's PostgreSQL (log ${server.logFile})`);
  await server.start();
  const ready = await waitFor(() => server.probe(), 60_000);
  if (!ready.ok)
    throw new Error(`PostgreSQL did not become healthy: ${ready.detail} (log ${server.logFile})`);
  return `started ${ready.detail} for this run (left running, as the test stack does)`;
}

export async function runStoreBench(
  rowCount = Number(process.env.P8FS_BENCH_ROWS ?? DEFAULT_ROWS),
): Promise<BenchSection> {
  const title = 'Storing resources in PostgreSQL';
  const compared =
    '`replaceResources` (src/db/files/resource-rows.ts: one transaction, one COPY FROM STDIN in text ' +
    `format through the client, src/db/copy-rows.ts) against the multi-row INSERT of ${BATCH} rows per ` +
    `statement it used before, INSERT … SELECT FROM unnest(arrays) (${BATCH} rows per statement) and ` +
    `server-side COPY from a file (the limit), writing the same ${int(rowCount)} rows into \`resources\` of ` +
    'fresh, migrated databases on the test-stack PostgreSQL: the real table, and two with parts of the ' +
    'full-text search removed, each against its own server-side COPY.';
  const notMeasured: string[] = [
    'single-row INSERT: no longer measured (0.36× the server-side COPY in earlier runs; it is not a candidate).',
  ];

  let serverNote: string;
  try {
    serverNote = await ensurePostgres();
  } catch (error) {
    const reason =
      `not measured: the test-stack PostgreSQL is not reachable and could not be started (${errorMessage(error)}); ` +
      'run `make test` (which brings the test stack up) and then `make bench` again.';
    progress(`store: ${reason}`);
    return { title, compared, table: `_${reason}_`, interpretation: reason, notMeasured };
  }
  progress(`store: ${serverNote}`);

  const { isolatedConfig } = await import('../test/support/test-stack.js');
  const { createTestDatabase, dropTestDatabase } = await import('../test/support/database.js');
  const { replaceResources, upsertFile, upsertRunningJob } = await import('../src/db/files/index.js');
  const { fileIdFor, resourceIdFor, uuidV5, P8FS_NAMESPACE } = await import('../src/domain/ids.js');
  const { extractFile, pickProvider } = await import('../src/providers/index.js');
  const { countTokens } = await import('../src/domain/chunking.js');

  // Real text of the samples, cut at whitespace into pieces of about ROW_BYTES, repeated with fresh
  // ordinals up to rowCount; token counts are exact, as the chunker would report them.
  const texts: string[] = [];
  for (const name of DOCUMENTS) {
    const provider = pickProvider(undefined, name);
    if (!provider) continue;
    const doc: ExtractedDocument = await extractFile(provider, path.join(samplesDir(), name));
    texts.push(textOf(doc));
  }
  const templates: Chunk[] = [];
  for (const piece of cutNear(texts.join('\n\n'), ROW_BYTES)) {
    templates.push({ ordinal: 0, text: piece, tokenCount: countTokens(piece), kinds: ['paragraph'] });
  }
  const chunks: Chunk[] = Array.from({ length: rowCount }, (_, i) => ({
    ...(templates[i % templates.length] as Chunk),
    ordinal: i,
  }));
  const meanBytes = chunks.reduce((sum, c) => sum + Buffer.byteLength(c.text), 0) / chunks.length;

  const configs = {
    full: isolatedConfig('bench'),
    noGin: isolatedConfig('benchnogin'),
    noSearch: isolatedConfig('benchnosearch'),
  } satisfies Record<Layout, unknown>;
  const pools: Partial<Record<Layout, pg.Pool>> = {};
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'p8fs-bench-'));
  try {
    const tenantId = 'bench-tenant';
    const event: StorageEvent = {
      type: 'create',
      path: `/buckets/${tenantId}/uploads/bench.pdf`,
      bucket: tenantId,
      key: 'uploads/bench.pdf',
      tenantId,
      category: 'uploads',
      fileName: 'bench.pdf',
    };
    const fileId = fileIdFor(tenantId, event.path);
    const jobId = uuidV5(`bench-job:${fileId}`, P8FS_NAMESPACE);
    const uri = `s3://${event.bucket}/${event.key}`;
    for (const layout of Object.keys(configs) as Layout[]) {
      const cfg = configs[layout];
      progress(`store: creating database ${cfg.pg.database} (${LAYOUTS[layout]})`);
      const db = await createTestDatabase(cfg);
      pools[layout] = db;
      if (layout === 'noGin') await db.query('DROP INDEX resources_search_vector');
      // Dropping the column drops its index with it.
      if (layout === 'noSearch') await db.query('ALTER TABLE resources DROP COLUMN search_vector');
      await upsertFile(db, { fileId, event, version: 'bench', status: 'processing' });
      await upsertRunningJob(db, { jobId, tenantId, workflowId: 'bench', runId: 'bench', payload: {} });
    }
    const poolOf = (layout: Layout) => pools[layout] as pg.Pool;
    const pool = poolOf('full');
    const layoutOf = async (db: pg.Pool) => {
      const indexes = await db.query<{ name: string }>(
        `SELECT indexname AS name FROM pg_indexes WHERE tablename = 'resources' ORDER BY 1`,
      );
      const generated = await db.query<{ name: string }>(
        `SELECT column_name AS name FROM information_schema.columns
         WHERE table_name = 'resources' AND is_generated = 'ALWAYS' ORDER BY 1`,
      );
      return `indexes ${indexes.rows.map((r) => r.name).join(', ')}; generated columns ${generated.rows.map((r) => r.name).join(', ') || 'none'}`;
    };
    const layoutNotes: string[] = [];
    for (const layout of Object.keys(configs) as Layout[]) {
      layoutNotes.push(`${LAYOUTS[layout]}: ${await layoutOf(poolOf(layout))}`);
    }
    const serverVersion = (await pool.query<{ v: string }>(`SELECT current_setting('server_version') AS v`))
      .rows[0]?.v;

    // The same values replaceResources writes, column for column.
    const valuesOf = (chunk: Chunk): Values => [
      resourceIdFor(fileId, chunk.ordinal),
      tenantId,
      fileId,
      event.fileName,
      event.category,
      chunk.text,
      chunk.ordinal,
      uri,
      JSON.stringify({
        pages: chunk.pages,
        heading: chunk.heading,
        kinds: chunk.kinds,
        token_count: chunk.tokenCount,
        provider: 'pdf',
        version: 'bench',
      }),
      null,
    ];

    /** Lock the file and delete its rows, then `insert`, in one transaction: the frame replaceResources uses. */
    const replaceInTransaction = (db: pg.Pool, insert: (client: pg.PoolClient) => Promise<void>) =>
      inTransaction(db, async (client) => {
        await client.query('SELECT id FROM files WHERE id = $1 FOR UPDATE', [fileId]);
        await client.query('DELETE FROM resources WHERE file_id = $1', [fileId]);
        await insert(client);
      });

    const ours = (layout: Layout): Candidate => ({
      name: '**replaceResources (ours)**',
      shape: 'COPY resources FROM STDIN (text format), one statement',
      layout,
      pool: poolOf(layout),
      store: async (rows) => {
        await replaceResources(poolOf(layout), {
          fileId,
          jobId,
          event,
          chunks: rows,
          provider: 'pdf',
          contentHash: 'bench',
          version: 'bench',
        });
      },
    });
    const multiRowInsert = (layout: Layout): Candidate => ({
      name: 'multi-row INSERT (replaceResources before)',
      shape: `INSERT … VALUES (…), (…) × ${BATCH} rows, ${BATCH * 10} parameters`,
      layout,
      pool: poolOf(layout),
      store: (rows) =>
        replaceInTransaction(poolOf(layout), async (client) => {
          for (let start = 0; start < rows.length; start += BATCH) {
            const values: unknown[] = [];
            const tuples = rows.slice(start, start + BATCH).map((chunk, i) => {
              values.push(...valuesOf(chunk));
              return `(${Array.from({ length: 10 }, (_, c) => `$${i * 10 + c + 1}`).join(', ')})`;
            });
            await client.query(`INSERT INTO resources (${COLUMNS}) VALUES ${tuples.join(', ')}`, values);
          }
        }),
    });
    const candidates: Candidate[] = [
      ours('full'),
      multiRowInsert('full'),
      {
        name: 'INSERT … unnest',
        shape: `INSERT … SELECT FROM unnest(10 arrays) × ${BATCH} rows, 10 parameters`,
        layout: 'full',
        pool,
        store: (rows) =>
          replaceInTransaction(pool, async (client) => {
            for (let start = 0; start < rows.length; start += BATCH) {
              const columns: unknown[][] = Array.from({ length: 10 }, () => []);
              for (const chunk of rows.slice(start, start + BATCH)) {
                valuesOf(chunk).forEach((v, c) => {
                  (columns[c] as unknown[]).push(v);
                });
              }
              await client.query(
                `INSERT INTO resources (${COLUMNS})
                 SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                                      $7::int[], $8::text[], $9::jsonb[], $10::timestamptz[])`,
                columns,
              );
            }
          }),
      },
    ];

    const local =
      ['127.0.0.1', 'localhost', '::1'].includes(configs.full.pg.host) && !configs.full.pg.connectionString;
    if (local) {
      // The server reads the file itself, as the postgres user: the folder and file must be readable to it.
      chmodSync(tmp, 0o755);
      const fileFor = (rows: Chunk[]) => {
        const file = path.join(tmp, `resources-${rows.length}.tsv`);
        if (!existsSync(file)) {
          writeFileSync(file, copyTextRows(rows.map(valuesOf)));
          chmodSync(file, 0o644);
        }
        return file;
      };
      // Written up front, outside the timed region.
      fileFor(chunks);
      const serverCopy = (layout: Layout): Candidate => ({
        name: 'server-side COPY (limit)',
        shape: 'COPY resources FROM a file the server reads',
        layout,
        pool: poolOf(layout),
        limit: true,
        store: (rows) =>
          replaceInTransaction(poolOf(layout), async (client) => {
            await client.query(`COPY resources (${COLUMNS}) FROM '${fileFor(rows).replace(/'/g, "''")}'`);
          }),
      });
      candidates.push(serverCopy('full'));
      candidates.push(ours('noGin'), serverCopy('noGin'));
      candidates.push(ours('noSearch'), multiRowInsert('noSearch'), serverCopy('noSearch'));
    } else {
      notMeasured.push(
        'server-side COPY and the layouts without search: not measured, PostgreSQL is not on this machine (it must read the file).',
      );
    }

    const reset = async (db: pg.Pool) => {
      // CASCADE: rows of this scratch database's tables that reference resources (e.g. the vectors) go too.
      await db.query('TRUNCATE resources CASCADE');
      // A checkpoint now rather than in the middle of the next timed run.
      await db.query('CHECKPOINT').catch(() => undefined);
    };
    const check = async (db: pg.Pool, name: string, expected: number) => {
      const n = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resources')).rows[0]?.n;
      if (n !== expected) throw new Error(`${name} stored ${n} rows, expected ${expected}`);
    };
    const label = (c: Candidate) => `${c.name.replace(/\*/g, '')} [${c.layout}]`;

    const results: Result[] = [];
    const warm = chunks.slice(0, 1_000);
    for (const candidate of candidates) {
      try {
        await reset(candidate.pool);
        await candidate.store(warm);
        await check(candidate.pool, label(candidate), warm.length);
        results.push({ candidate, times: [] });
      } catch (error) {
        const reason = `${label(candidate)}: not measured (${errorMessage(error)})`;
        progress(`store: ${reason}`);
        notMeasured.push(reason);
      }
    }
    // Interleaved runs, so drift (other load, autovacuum) spreads over every candidate alike.
    for (let run = 1; run <= RUNS; run++) {
      for (const result of results) {
        progress(`store: run ${run}/${RUNS}, ${label(result.candidate)}, ${int(rowCount)} rows`);
        await reset(result.candidate.pool);
        const t0 = performance.now();
        await result.candidate.store(chunks);
        result.times.push(performance.now() - t0);
        await check(result.candidate.pool, label(result.candidate), rowCount);
      }
    }

    const rate = (r: Result) => rowCount / (Math.min(...r.times) / 1000);
    const limitOf = (layout: Layout) =>
      results.find((r) => r.candidate.limit && r.candidate.layout === layout);
    const find = (layout: Layout, prefix: string) =>
      results.find(
        (r) => r.candidate.layout === layout && r.candidate.name.replace(/\*/g, '').startsWith(prefix),
      );
    const table = markdownTable(
      [
        'table',
        'candidate',
        'statement',
        'best s',
        'median s',
        'rows/s (best)',
        'MB/s of content',
        'ratio vs server-side COPY',
      ],
      ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r'],
      results.map((r) => {
        const limit = limitOf(r.candidate.layout);
        return [
          LAYOUTS[r.candidate.layout],
          r.candidate.name,
          r.candidate.shape,
          fixed(Math.min(...r.times) / 1000, 3),
          fixed(median(r.times) / 1000, 3),
          int(rate(r)),
          fixed((rate(r) * meanBytes) / 1e6, 1),
          limit ? fixed(rate(r) / rate(limit)) : 'n/a',
        ];
      }),
    );
    const note =
      `${int(rowCount)} rows cut from the samples' extracted text (mean content ${int(meanBytes)} bytes, plus id and ` +
      `metadata jsonb); best and median of ${RUNS} interleaved runs after a ${int(warm.length)}-row warm-up, each on ` +
      `an emptied table after a CHECKPOINT, one connection, PostgreSQL ${serverVersion ?? '?'} at ` +
      `${configs.full.pg.host}:${configs.full.pg.port} (${serverNote}). Tables, read from the catalog: ` +
      `${layoutNotes.join('; ')}.`;

    const oursFull = find('full', 'replaceResources');
    const before = find('full', 'multi-row INSERT');
    const copyFull = limitOf('full');
    const oursBare = find('noSearch', 'replaceResources');
    const oursNoGin = find('noGin', 'replaceResources');
    let interpretation = 'replaceResources could not be measured.';
    if (oursFull) {
      const parts = [`replaceResources stores ${int(rate(oursFull))} rows/s`];
      if (copyFull) parts.push(`${fixed(rate(oursFull) / rate(copyFull))}× the server-side COPY limit`);
      if (before) parts.push(`${fixed(rate(oursFull) / rate(before))}× the multi-row INSERT it used before`);
      if (oursNoGin && oursBare) {
        const vector = 1 - rate(oursNoGin) / rate(oursBare);
        const gin = rate(oursNoGin) / rate(oursFull) - 1;
        parts.push(
          `and without the search column and its index it stores ${int(rate(oursBare))} rows/s ` +
            `(${fixed(rate(oursBare) / rate(oursFull), 1)}×): computing the english tsvector takes ` +
            `${fixed(100 * vector, 0)}% of the time of a store without the GIN index, and the index ` +
            (gin > 0
              ? `adds ${fixed(100 * gin, 0)}% on top`
              : `adds nothing measurable (${fixed(100 * gin, 0)}%)`),
        );
      }
      const bareCopy = limitOf('noSearch');
      const bareBefore = find('noSearch', 'multi-row INSERT');
      if (oursBare && bareCopy && bareBefore) {
        parts.push(
          `where COPY FROM STDIN reaches ${fixed(rate(oursBare) / rate(bareCopy))}× the server-side COPY and ` +
            `${fixed(rate(oursBare) / rate(bareBefore))}× the multi-row INSERT (the client's encoding and ` +
            'transfer show once the server has less to do)',
        );
      }
      if (copyFull) {
        notMeasured.push(
          `COPY FROM STDIN in binary format: not measured; the text format reached ${fixed(rate(oursFull) / rate(copyFull))}× ` +
            'the server-side COPY (which parses the same text format) on the real table, where the server computing ' +
            'the search vector bounds every candidate; binary would only save the client its escaping.',
        );
      }
      const spread = Math.max(...results.map((r) => median(r.times) / Math.min(...r.times) - 1));
      interpretation =
        `${parts.join(', ')}; medians sit up to ${fixed(100 * spread, 0)}% above the best runs, so ratios ` +
        `between ${fixed(1 / (1 + spread))} and ${fixed(1 + spread)} are within this run's noise.`;
    }
    return { title, compared, table: `${table}\n\n${note}`, interpretation, notMeasured };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    for (const layout of Object.keys(configs) as Layout[]) {
      const db = pools[layout];
      if (!db) continue;
      const cfg = configs[layout];
      progress(`store: dropping database ${cfg.pg.database}`);
      await dropTestDatabase(cfg, db).catch((error) =>
        progress(`store: could not drop ${cfg.pg.database}: ${errorMessage(error)}`),
      );
    }
  }
}
