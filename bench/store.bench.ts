/**
 * Storing resources: our `replaceResources` (one transaction, multi-row INSERT of 500 rows per statement)
 * against other ways of writing the same rows into the same table of a fresh, migrated database on the
 * test-stack PostgreSQL: one INSERT per row (the naive baseline), INSERT … SELECT FROM unnest(arrays)
 * (one parameter per column instead of per value), and server-side COPY from a file (the server's ingest
 * limit for these rows: no per-row statement and no client transfer). Every candidate runs in one
 * transaction that first deletes the file's rows, like replaceResources, and starts from an empty table.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
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

const DEFAULT_ROWS = 20_000;
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

interface Candidate {
  name: string;
  shape: string;
  /** The database it writes to; reset and checked there. */
  pool: pg.Pool;
  /** Measured in the same rounds but reported in the note, not the table (a different table layout). */
  aside?: boolean;
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

/** PostgreSQL COPY text format for one value. */
function copyText(value: string | number | null): string {
  if (value === null) return '\\N';
  return String(value)
    .replace(/\\/g, '\\\\')
    .replace(/\t/g, '\\t')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r');
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
    '`replaceResources` (src/activities/ingest/file-records.ts: one transaction, multi-row INSERT of ' +
    `${BATCH} rows per statement) against a single-row INSERT per row, INSERT … SELECT FROM unnest(arrays) ` +
    `(${BATCH} rows per statement) and server-side COPY from a file, writing the same ${int(rowCount)} rows ` +
    'into `resources` of a fresh, migrated database on the test-stack PostgreSQL.';
  const notMeasured: string[] = [];
  const clientCopy = existsSync(path.join(process.cwd(), 'node_modules', 'pg-copy-streams'))
    ? 'COPY FROM STDIN through the client: not measured (pg-copy-streams is installed, but this bench does not use it yet).'
    : 'COPY FROM STDIN through the client: not measured, since pg-copy-streams is not installed; server-side COPY from a ' +
      'file stands in as the limit (it skips the client-to-server transfer, so it is an upper bound).';
  notMeasured.push(clientCopy);

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
  const { replaceResources, upsertFile, upsertRunningJob } = await import(
    '../src/activities/ingest/file-records.js'
  );
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

  const cfg = isolatedConfig('bench');
  progress(`store: creating database ${cfg.pg.database} on ${cfg.pg.host}:${cfg.pg.port}`);
  const pool = await createTestDatabase(cfg);
  // A second database whose resources table lacks the GIN full-text index(es): what the index costs.
  const bareCfg = isolatedConfig('benchnogin');
  let barePool: pg.Pool | undefined;
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
    const prepare = async (db: pg.Pool) => {
      await upsertFile(db, { fileId, event, version: 'bench', status: 'processing' });
      await upsertRunningJob(db, { jobId, tenantId, workflowId: 'bench', runId: 'bench', payload: {} });
    };
    await prepare(pool);
    barePool = await createTestDatabase(bareCfg);
    const ginIndexes = (
      await barePool.query<{ name: string }>(
        `SELECT indexname AS name FROM pg_indexes WHERE tablename = 'resources' AND indexdef ILIKE '% USING gin %'`,
      )
    ).rows.map((r) => r.name);
    for (const name of ginIndexes) await barePool.query(`DROP INDEX "${name.replace(/"/g, '""')}"`);
    await prepare(barePool);
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
    const replaceInTransaction = (insert: (client: pg.PoolClient) => Promise<void>) =>
      inTransaction(pool, async (client) => {
        await client.query('SELECT id FROM files WHERE id = $1 FOR UPDATE', [fileId]);
        await client.query('DELETE FROM resources WHERE file_id = $1', [fileId]);
        await insert(client);
      });

    const ourStore = (db: pg.Pool) => async (rows: Chunk[]) => {
      await replaceResources(db, {
        fileId,
        jobId,
        event,
        chunks: rows,
        provider: 'pdf',
        contentHash: 'bench',
        version: 'bench',
      });
    };
    const candidates: Candidate[] = [
      {
        name: '**replaceResources (ours)**',
        shape: `INSERT … VALUES (…), (…) × ${BATCH} rows, ${BATCH * 10} parameters`,
        pool,
        store: ourStore(pool),
      },
      {
        name: 'single-row INSERT',
        shape: 'one prepared INSERT per row',
        pool,
        store: (rows) =>
          replaceInTransaction(async (client) => {
            for (const chunk of rows) {
              await client.query({
                name: 'bench-insert-one-resource',
                text: `INSERT INTO resources (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
                values: valuesOf(chunk),
              });
            }
          }),
      },
      {
        name: 'INSERT … unnest',
        shape: `INSERT … SELECT FROM unnest(10 arrays) × ${BATCH} rows, 10 parameters`,
        pool,
        store: (rows) =>
          replaceInTransaction(async (client) => {
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

    const local = ['127.0.0.1', 'localhost', '::1'].includes(cfg.pg.host) && !cfg.pg.connectionString;
    if (local) {
      // The server reads the file itself, as the postgres user: the folder and file must be readable to it.
      chmodSync(tmp, 0o755);
      const fileFor = (rows: Chunk[]) => {
        const file = path.join(tmp, `resources-${rows.length}.tsv`);
        if (!existsSync(file)) {
          writeFileSync(file, rows.map((c) => `${valuesOf(c).map(copyText).join('\t')}\n`).join(''));
          chmodSync(file, 0o644);
        }
        return file;
      };
      // Written up front, outside the timed region.
      fileFor(chunks);
      candidates.push({
        name: 'server-side COPY (limit)',
        shape: 'COPY resources FROM a file the server reads',
        pool,
        store: (rows) =>
          replaceInTransaction(async (client) => {
            await client.query(`COPY resources (${COLUMNS}) FROM '${fileFor(rows).replace(/'/g, "''")}'`);
          }),
      });
    } else {
      notMeasured.push(
        'server-side COPY: not measured, PostgreSQL is not on this machine (it must read the file).',
      );
    }

    if (ginIndexes.length) {
      candidates.push({
        name: `replaceResources without ${ginIndexes.join(', ')}`,
        shape: 'as ours, into a table without the GIN full-text index',
        pool: barePool,
        aside: true,
        store: ourStore(barePool),
      });
    }

    const reset = async (db: pg.Pool) => {
      await db.query('TRUNCATE resources');
      // A checkpoint now rather than in the middle of the next timed run.
      await db.query('CHECKPOINT').catch(() => undefined);
    };
    const check = async (db: pg.Pool, name: string, expected: number) => {
      const n = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resources')).rows[0]?.n;
      if (n !== expected) throw new Error(`${name} stored ${n} rows, expected ${expected}`);
    };

    const results: Result[] = [];
    const warm = chunks.slice(0, 1_000);
    for (const candidate of [...candidates]) {
      try {
        await reset(candidate.pool);
        await candidate.store(warm);
        await check(candidate.pool, candidate.name, warm.length);
        results.push({ candidate, times: [] });
      } catch (error) {
        const reason = `${candidate.name}: not measured (${errorMessage(error)})`;
        progress(`store: ${reason}`);
        notMeasured.push(reason);
      }
    }
    // Interleaved runs, so drift (other load, autovacuum) spreads over every candidate alike.
    for (let run = 1; run <= RUNS; run++) {
      for (const result of results) {
        progress(
          `store: run ${run}/${RUNS}, ${result.candidate.name.replace(/\*/g, '')}, ${int(rowCount)} rows`,
        );
        await reset(result.candidate.pool);
        const t0 = performance.now();
        await result.candidate.store(chunks);
        result.times.push(performance.now() - t0);
        await check(result.candidate.pool, result.candidate.name, rowCount);
      }
    }

    const rate = (r: Result) => rowCount / (Math.min(...r.times) / 1000);
    const aside = results.find((r) => r.candidate.aside);
    const shown = results.filter((r) => !r.candidate.aside);
    const fastest = Math.max(...shown.map(rate));
    const table = markdownTable(
      [
        'candidate',
        'statement',
        'rows',
        'best s',
        'median s',
        'rows/s (best)',
        'MB/s of content',
        'ratio vs fastest',
      ],
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
      shown.map((r) => [
        r.candidate.name,
        r.candidate.shape,
        int(rowCount),
        fixed(Math.min(...r.times) / 1000, 3),
        fixed(median(r.times) / 1000, 3),
        int(rate(r)),
        fixed((rate(r) * meanBytes) / 1e6, 1),
        fixed(rate(r) / fastest),
      ]),
    );
    let note =
      `${int(rowCount)} rows cut from the samples' extracted text (mean content ${int(meanBytes)} bytes, plus id, metadata jsonb and ` +
      `the table's primary-key, unique and GIN full-text indexes); best and median of ${RUNS} interleaved runs ` +
      `after a ${int(warm.length)}-row warm-up, each on an emptied table after a CHECKPOINT, one connection, ` +
      `PostgreSQL ${serverVersion ?? '?'} at ${cfg.pg.host}:${cfg.pg.port} (${serverNote}).`;
    const ours = results.find((r) => r.candidate.name.includes('ours'));
    if (aside && ours) {
      note +=
        ` In the same rounds, replaceResources into an identical table without the GIN full-text index ` +
        `(${ginIndexes.join(', ')}; a second database) stored ${int(rate(aside))} rows/s (best; median ` +
        `${fixed(median(aside.times) / 1000, 3)} s), ${fixed(rate(aside) / rate(ours), 1)}× the rate with it.`;
    } else if (!ginIndexes.length) {
      note += ' The resources table has no GIN index, so its cost was not measured separately.';
    }

    const single = results.find((r) => r.candidate.name === 'single-row INSERT');
    const unnest = results.find((r) => r.candidate.name === 'INSERT … unnest');
    const copy = results.find((r) => r.candidate.name.startsWith('server-side COPY'));
    let interpretation = 'replaceResources could not be measured.';
    if (ours) {
      const parts = [`replaceResources stores ${int(rate(ours))} rows/s`];
      if (single) parts.push(`${fixed(rate(ours) / rate(single), 1)}× the single-row INSERT baseline`);
      if (unnest) parts.push(`${fixed(rate(ours) / rate(unnest))}× the unnest variant`);
      if (copy)
        parts.push(`reaches ${fixed((100 * rate(ours)) / rate(copy), 0)}% of the server-side COPY limit`);
      if (aside) {
        const share = 1 - rate(ours) / rate(aside);
        parts.push(`and the GIN full-text index accounts for ${fixed(100 * share, 0)}% of its time`);
      }
      const spread = Math.max(...results.map((r) => median(r.times) / Math.min(...r.times) - 1));
      interpretation =
        `${parts.join(', ')}; medians sit up to ${fixed(100 * spread, 0)}% above the best runs, so ratios ` +
        `between ${fixed(1 / (1 + spread))} and ${fixed(1 + spread)} are within this run's noise.`;
    }
    return { title, compared, table: `${table}\n\n${note}`, interpretation, notMeasured };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    progress(`store: dropping databases ${cfg.pg.database} and ${bareCfg.pg.database}`);
    await dropTestDatabase(cfg, pool).catch((error) =>
      progress(`store: could not drop ${cfg.pg.database}: ${errorMessage(error)}`),
    );
    if (barePool) {
      await dropTestDatabase(bareCfg, barePool).catch((error) =>
        progress(`store: could not drop ${bareCfg.pg.database}: ${errorMessage(error)}`),
      );
    }
  }
}
