/**
 * Storing chunks with COPY FROM STDIN (src/db/copy-rows.ts, used by replaceResources) on the test-stack
 * PostgreSQL, in a fresh migrated database of this file: content the text format gives a meaning (tabs,
 * newlines, carriage returns, backslashes, `\.` and `\N` lines) and everything else (Unicode, emoji, a
 * multi-megabyte row) reads back byte-identical, with its jsonb metadata; rows span several batches; a
 * server error in the middle of the stream fails the whole store (PermanentStorageError once classified)
 * and leaves the earlier rows in place; cancellation aborts the COPY; the connections stay usable.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asActivityError, classifyStorageError } from '../../src/activities/ingest/storage-errors.js';
import type { Config } from '../../src/config/config.js';
import { copyTextValue } from '../../src/db/copy-rows.js';
import {
  replaceResources,
  resourceMetadata,
  type StoreChunksInput,
  upsertFile,
  upsertRunningJob,
} from '../../src/db/files/index.js';
import type { Chunk } from '../../src/domain/chunking.js';
import { PermanentStorageError } from '../../src/domain/errors.js';
import { fileIdFor, P8FS_NAMESPACE, resourceIdFor, uuidV5 } from '../../src/domain/ids.js';
import type { StorageEvent } from '../../src/domain/storage-event.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { isolatedConfig, uniqueTenant } from '../support/test-stack.js';

let cfg: Config;
let pool: pg.Pool;
const tenant = uniqueTenant('storecopy');

beforeAll(async () => {
  cfg = isolatedConfig('storecopy');
  pool = await createTestDatabase(cfg);
}, 60_000);

afterAll(async () => {
  if (pool) await dropTestDatabase(cfg, pool);
});

/** A file (its files and jobs rows) to store chunks for; the name itself holds characters COPY escapes. */
async function newFile(label: string, fileName = `${label}.txt`) {
  const path = `/buckets/${tenant}/uploads/${label}/${fileName}`;
  const event: StorageEvent = {
    type: 'create',
    path,
    bucket: tenant,
    key: `uploads/${label}/${fileName}`,
    tenantId: tenant,
    category: 'uploads',
    fileName,
  };
  const fileId = fileIdFor(tenant, path);
  const jobId = uuidV5(`store-copy-job:${fileId}`, P8FS_NAMESPACE);
  await upsertFile(pool, { fileId, event, version: 'v1', status: 'processing' });
  await upsertRunningJob(pool, { jobId, tenantId: tenant, workflowId: label, runId: label, payload: {} });
  const input = (chunks: StoreChunksInput['chunks'], extra: Partial<StoreChunksInput> = {}) =>
    ({
      fileId,
      jobId,
      event,
      chunks,
      provider: 'text',
      contentHash: label,
      version: 'v1',
      ...extra,
    }) satisfies StoreChunksInput;
  return { fileId, jobId, event, input };
}

interface Row {
  id: string;
  ordinal: number;
  name: string;
  uri: string;
  content: string;
  metadata: Record<string, unknown>;
  resource_timestamp: Date | null;
  searchable: boolean;
}

async function rowsOf(fileId: string): Promise<Row[]> {
  const result = await pool.query<Row>(
    `SELECT id, ordinal, name, uri, content, metadata, resource_timestamp, search_vector IS NOT NULL AS searchable
     FROM resources WHERE file_id = $1 ORDER BY ordinal`,
    [fileId],
  );
  return result.rows;
}

async function fileState(fileId: string) {
  const result = await pool.query<{ status: string; chunk_count: number | null }>(
    'SELECT status, chunk_count FROM files WHERE id = $1',
    [fileId],
  );
  return result.rows[0];
}

const NASTY: string[] = [
  'tab\there\tand\ttrailing tab\t',
  'line one\nline two\n\nafter an empty line\n',
  'windows\r\nline ends\r\nand a lone \r carriage return',
  'back\\slash, double \\\\ and a trailing backslash \\',
  '\\.',
  'before\n\\.\nafter the end-of-data marker line',
  '\\N',
  'a literal \\N inside, and \\t \\n \\r written out',
  'Unicode: Grüße, naïve café, Ελληνικά, русский, 日本語のテキスト, עברית, العربية',
  'Emoji: 👩‍👩‍👧‍👦 🏳️‍🌈 🇩🇪 and a skin tone 👍🏽, astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  'combining e\u0301 and zero-width\u200bspace\u00a0nbsp\u2028line separator\u2029para',
  'control characters \u0001\u0007\u0008\u000b\u000c\u001b\u007f kept as they are',
  '"quotes" \'single\' ,commas; and |pipes|, {json: "like"} [1, 2]',
  ' leading and trailing spaces ',
];

describe('replaceResources through COPY FROM STDIN', () => {
  it('copyTextValue escapes exactly what the text format gives a meaning', () => {
    expect(copyTextValue(null)).toBe('\\N');
    expect(copyTextValue(42)).toBe('42');
    expect(copyTextValue('\\N')).toBe('\\\\N');
    expect(copyTextValue('\\.')).toBe('\\\\.');
    expect(copyTextValue('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyTextValue('plain 👍 text')).toBe('plain 👍 text');
  });

  it('reads back nasty content, names and metadata byte-identical', async () => {
    const { fileId, event, input } = await newFile('nasty', 'we\tird\\name\nwith lines.txt');
    const long = `${'a long row with a tab\there, a \\ and a newline\n'.repeat(60_000)}🙂 end`;
    const chunks: Chunk[] = [...NASTY, long].map((text, ordinal) => ({
      ordinal,
      text,
      tokenCount: 7,
      heading: `Heading\twith\\ and\nnewline 👍 ${ordinal}`,
      kinds: ['paragraph'],
      pages: [ordinal + 1],
      metadata: { language: 'tab\there', quote: '"\\N"' },
    }));
    const timestamp = '2026-11-30T12:34:56.789Z';
    const stored = await replaceResources(pool, input(chunks, { resourceTimestamp: timestamp }));
    expect(stored).toEqual({ inserted: chunks.length, replaced: 0 });

    const rows = await rowsOf(fileId);
    expect(rows.map((r) => r.ordinal)).toEqual(chunks.map((c) => c.ordinal));
    for (const [i, row] of rows.entries()) {
      const chunk = chunks[i] as Chunk;
      expect(Buffer.from(row.content, 'utf8').equals(Buffer.from(chunk.text, 'utf8')), `row ${i}`).toBe(true);
      // The original P8FS's fields first, then ours (resourceMetadata), then the file's own name and place.
      expect(row.metadata).toEqual({
        file_id: fileId,
        chunk_index: chunk.ordinal,
        chunk_type: 'text',
        file_mtime: timestamp,
        file_ctime: timestamp,
        ...resourceMetadata(chunk, { provider: 'text', version: 'v1' }),
        file_name: event.fileName,
        file_category: event.category,
        file_uri: `s3://${event.bucket}/${event.key}`,
      });
      expect(row.id).toBe(resourceIdFor(fileId, chunk.ordinal));
      expect(row.name).toBe(`${event.fileName.replace(/\.[^.]+$/, '')}_chunk_${chunk.ordinal}`);
      expect(row.uri).toBe(`${event.key}#chunk_${chunk.ordinal}`);
      expect(row.resource_timestamp?.toISOString()).toBe(timestamp);
      expect(row.searchable).toBe(true);
    }
    expect((rows.at(-1) as Row).content.length).toBe(long.length);
    expect(await fileState(fileId)).toEqual({ status: 'completed', chunk_count: chunks.length });

    // The generated english search vector was computed from the copied text.
    const hit = await pool.query<{ ordinal: number }>(
      `SELECT ordinal FROM resources WHERE file_id = $1 AND search_vector @@ to_tsquery('english', 'russian | русский')`,
      [fileId],
    );
    expect(hit.rows.map((r) => r.ordinal)).toContain(NASTY.findIndex((t) => t.includes('русский')));
  });

  it('cleans what PostgreSQL cannot hold (NUL, lone surrogates) instead of failing', async () => {
    const { fileId, input } = await newFile('unstorable');
    const chunks: Chunk[] = [
      { ordinal: 0, text: 'nul\u0000inside and \\\u0000 after a backslash', tokenCount: 3 },
      { ordinal: 1, text: 'lone \ud800 surrogate', tokenCount: 3, heading: 'head\u0000ing \udfff' },
    ];
    await expect(replaceResources(pool, input(chunks))).resolves.toEqual({ inserted: 2, replaced: 0 });
    const rows = await rowsOf(fileId);
    expect(rows.map((r) => r.content)).toEqual([
      'nulinside and \\ after a backslash',
      'lone \ufffd surrogate',
    ]);
    expect(rows[1]?.metadata.heading).toBe('heading \ufffd');
  });

  it('streams rows from an async source over several batches, and replaces them idempotently', async () => {
    const { fileId, input } = await newFile('many');
    const make = (n: number, word: string) =>
      async function* (): AsyncGenerator<Chunk> {
        for (let ordinal = 0; ordinal < n; ordinal++) {
          if (ordinal % 250 === 0) await new Promise((resolve) => setImmediate(resolve));
          yield { ordinal, text: `${word} ${ordinal}\twith a tab`, tokenCount: 4 };
        }
      };
    const batches: number[] = [];
    const first = await replaceResources(
      pool,
      input(make(1_234, 'first')(), { onBatch: (n) => batches.push(n) }),
    );
    expect(first).toEqual({ inserted: 1_234, replaced: 0 });
    expect(batches).toEqual([500, 1_000, 1_234]);
    // The same store again (a retried activity) replaces the rows with identical ones.
    expect(await replaceResources(pool, input(make(1_234, 'first')()))).toEqual({
      inserted: 1_234,
      replaced: 1_234,
    });
    // A new version with fewer chunks leaves none of the old ones behind.
    expect(await replaceResources(pool, input(make(700, 'second')()))).toEqual({
      inserted: 700,
      replaced: 1_234,
    });
    const rows = await rowsOf(fileId);
    expect(rows).toHaveLength(700);
    expect(rows[699]?.content).toBe('second 699\twith a tab');
    expect(await fileState(fileId)).toEqual({ status: 'completed', chunk_count: 700 });
  });

  it('a server error in the middle of the stream fails the whole store, classified as permanent', async () => {
    const { fileId, input } = await newFile('duplicate');
    await replaceResources(pool, input([{ ordinal: 0, text: 'kept', tokenCount: 1 }]));
    await pool.query(`UPDATE files SET status = 'processing' WHERE id = $1`, [fileId]);
    // Ordinal 1,700 twice (deterministic id, unique (file_id, ordinal)): the server refuses it in the
    // fourth batch, after three batches went out.
    const chunks = Array.from(
      { length: 2_000 },
      (_, i): Chunk => ({
        ordinal: i === 1_900 ? 1_700 : i,
        text: `row ${i}`,
        tokenCount: 2,
      }),
    );
    const error = await replaceResources(pool, input(chunks)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, 'the store fails').toBeDefined();
    expect((error as { code?: string }).code).toBe('23505');
    expect(classifyStorageError(error).kind).toBe('permanent');
    const thrown = asActivityError('storeChunks', error);
    expect(thrown).toBeInstanceOf(PermanentStorageError);
    expect(String((thrown as Error).message)).toMatch(/storeChunks: PostgreSQL refused: SQLSTATE 23505/);
    // Rolled back: the earlier version's row is there, the file not completed by this store.
    expect((await rowsOf(fileId)).map((r) => r.content)).toEqual(['kept']);
    expect(await fileState(fileId)).toEqual({ status: 'processing', chunk_count: 1 });
    // Every pooled connection still works (a broken COPY would leave one stuck).
    const counts = await Promise.all(
      Array.from({ length: 4 }, () => pool.query<{ n: number }>('SELECT count(*)::int AS n FROM resources')),
    );
    for (const c of counts) expect(c.rows[0]?.n).toBeGreaterThan(0);
    await expect(replaceResources(pool, input(chunks.slice(0, 1_900)))).resolves.toEqual({
      inserted: 1_900,
      replaced: 1,
    });
  });

  it('a server error while the source is still producing stops the store early', async () => {
    const { fileId, input } = await newFile('early-error');
    let produced = 0;
    async function* source(): AsyncGenerator<Chunk> {
      for (let i = 0; i < 50_000; i++) {
        produced++;
        if (i % 250 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        // Ordinal 1 twice, at once: the server refuses the COPY with its first buffered rows.
        yield { ordinal: i === 2 ? 1 : i, text: `row ${i}`, tokenCount: 2 };
      }
    }
    const error = await replaceResources(pool, input(source())).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as { code?: string } | undefined)?.code).toBe('23505');
    expect(produced, 'the source was not read to its end').toBeLessThan(50_000);
    expect(await rowsOf(fileId)).toEqual([]);
    await expect(pool.query('SELECT 1')).resolves.toBeDefined();
  });

  it('cancellation aborts the COPY midway: nothing of it is written, and the reason is thrown', async () => {
    const { fileId, input } = await newFile('cancel');
    await replaceResources(pool, input([{ ordinal: 0, text: 'old version', tokenCount: 2 }]));
    const controller = new AbortController();
    const reason = new Error('activity cancelled (test)');
    let produced = 0;
    async function* slowSource(): AsyncGenerator<Chunk> {
      for (let ordinal = 0; ordinal < 100_000; ordinal++) {
        produced++;
        // After two batches went out, the activity is cancelled while the source is still reading.
        if (ordinal === 1_200) setTimeout(() => controller.abort(reason), 20);
        if (ordinal >= 1_200) await new Promise((resolve) => setTimeout(resolve, 5));
        yield { ordinal, text: `new ${ordinal}`, tokenCount: 2 };
      }
    }
    const started = Date.now();
    await expect(
      replaceResources(pool, input(slowSource(), { wait: { signal: controller.signal } })),
    ).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(produced).toBeLessThan(2_000);
    expect((await rowsOf(fileId)).map((r) => r.content)).toEqual(['old version']);
    // The connection that ran the COPY is usable again (the pool hands it out next).
    await expect(
      replaceResources(pool, input([{ ordinal: 0, text: 'after', tokenCount: 1 }])),
    ).resolves.toEqual({
      inserted: 1,
      replaced: 1,
    });
  });

  it('a failing chunk source fails the COPY and rolls back', async () => {
    const { fileId, input } = await newFile('source-error');
    await replaceResources(pool, input([{ ordinal: 0, text: 'before', tokenCount: 1 }]));
    async function* broken(): AsyncGenerator<Chunk> {
      for (let ordinal = 0; ordinal < 800; ordinal++) yield { ordinal, text: `x ${ordinal}`, tokenCount: 1 };
      throw new Error('S3 read failed (test)');
    }
    await expect(replaceResources(pool, input(broken()))).rejects.toThrow('S3 read failed (test)');
    expect((await rowsOf(fileId)).map((r) => r.content)).toEqual(['before']);
  });
});
