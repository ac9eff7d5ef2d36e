/**
 * End to end on real servers: the seeds' manual event shape for each sample file, published to JetStream,
 * routed by the bridge, ingested by real workers into PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdFor } from '../../src/domain/ids.js';
import { mimeTypeForFileName } from '../../src/domain/provider-catalog.js';
import { samplesDir } from '../../src/stack/paths.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

let p: Pipeline;
const tenant = uniqueTenant('samples');

interface FileStatus {
  status: string;
  provider: string | null;
  chunk_count: number | null;
  page_count: number | null;
  error: string | null;
}

async function ingest(
  file: string,
  key = `uploads/${basename(file)}`,
): Promise<{ fileId: string; row: FileStatus }> {
  const body = readFileSync(file);
  const mime = mimeTypeForFileName(file);
  await p.putObject(tenant, key, body, mime);
  const path = `/buckets/${tenant}/${key}`;
  // The seeds' manual event shape, exactly as `nats pub` users send it.
  await p.publish({ event_type: 'create', path, size: body.length, mime_type: mime });
  const fileId = fileIdFor(tenant, path);
  const row = await eventually(`files row of ${path} to finish`, async () => {
    const result = await p.pool.query<FileStatus>(
      'SELECT status, provider, chunk_count, page_count, error FROM files WHERE id = $1',
      [fileId],
    );
    const r = result.rows[0];
    return r && r.status !== 'processing' ? r : undefined;
  });
  return { fileId, row };
}

beforeAll(async () => {
  p = await createPipeline('samples');
  await p.startWorkers();
  await p.startBridge();
});

afterAll(async () => {
  await p?.close();
});

describe('ingestion of the sample files (real Temporal, NATS, SeaweedFS, PostgreSQL)', () => {
  const textSamples = [
    ['content/Sample.docx', 'docx'],
    ['content/Sample.md', 'markdown'],
    ['content/diary_sample.md', 'markdown'],
    ['small/sample.txt', 'text'],
    ['small/sample.json', 'structured'],
    ['small/sample.yaml', 'structured'],
    ['small/sample.pdf', 'pdf'],
  ] as const;

  it.each(textSamples)('%s becomes resources rows through the %s provider', async (sample, provider) => {
    const { fileId, row } = await ingest(join(samplesDir(), sample));
    expect(row).toMatchObject({ status: 'completed', provider, error: null });
    const resources = await p.pool.query<{
      n: number;
      distinct_ordinals: number;
      empty: number;
      untimed: number;
    }>(
      `SELECT count(*)::int AS n, count(DISTINCT ordinal)::int AS distinct_ordinals,
              count(*) FILTER (WHERE length(trim(content)) = 0)::int AS empty,
              count(*) FILTER (WHERE resource_timestamp IS NULL)::int AS untimed
       FROM resources WHERE file_id = $1`,
      [fileId],
    );
    expect(resources.rows[0]?.n).toBe(row.chunk_count);
    expect(resources.rows[0]?.n).toBeGreaterThan(0);
    expect(resources.rows[0]?.distinct_ordinals).toBe(resources.rows[0]?.n);
    expect(resources.rows[0]?.empty).toBe(0);
    // Each chunk carries the object's Last-Modified as its resource timestamp.
    expect(resources.rows[0]?.untimed).toBe(0);
  });

  it('Sample.pdf gives chunks with page numbers, holding text of its first and last text pages', async () => {
    const { fileId, row } = await ingest(join(samplesDir(), 'content/Sample.pdf'));
    expect(row).toMatchObject({ status: 'completed', provider: 'pdf', page_count: 8 });
    const chunks = await p.pool.query<{ content: string; pages: number[] }>(
      `SELECT content, ARRAY(SELECT jsonb_array_elements_text(metadata->'pages')::int) AS pages
       FROM resources WHERE file_id = $1 ORDER BY ordinal`,
      [fileId],
    );
    expect(chunks.rows.length).toBe(row.chunk_count);
    for (const chunk of chunks.rows) expect(chunk.pages.length).toBeGreaterThan(0);
    const pages = new Set(chunks.rows.flatMap((c) => c.pages));
    // Page 8 of Sample.pdf is a single image with no text layer (OCR is a later provider): page 7 is the
    // last page with text. The provider records image-only pages in the extracted document's metadata.
    expect(pages.has(1)).toBe(true);
    expect(pages.has(7)).toBe(true);
    const first = chunks.rows.find((c) => c.pages.includes(1));
    const last = chunks.rows.find((c) => c.pages.includes(7));
    expect(first?.content.length).toBeGreaterThan(100);
    expect(last?.content.length).toBeGreaterThan(100);
  });

  it('re-publishing the same event adds no rows (deduplicated by workflow id)', async () => {
    const file = join(samplesDir(), 'small/sample.txt');
    const key = 'again/sample.txt';
    const { fileId, row } = await ingest(file, key);
    const before = p.bridge?.counters.deduplicated ?? 0;
    const body = readFileSync(file);
    await p.publish({
      event_type: 'upload',
      path: `/buckets/${tenant}/${key}`,
      size: body.length,
      mime_type: 'text/plain',
    });
    await eventually('the duplicate to be counted', async () =>
      (p.bridge?.counters.deduplicated ?? 0) > before ? true : undefined,
    );
    const count = await p.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM resources WHERE file_id = $1',
      [fileId],
    );
    expect(count.rows[0]?.n).toBe(row.chunk_count);
  });

  it('a corrupt PDF ends failed within seconds, with an errors row', async () => {
    const started = Date.now();
    const corrupt = Buffer.concat([
      Buffer.from('%PDF-1.7\n'),
      Buffer.alloc(4096, 0x41),
      Buffer.from('\n%%EOF'),
    ]);
    const key = 'uploads/corrupt.pdf';
    await p.putObject(tenant, key, corrupt, 'application/pdf');
    const path = `/buckets/${tenant}/${key}`;
    await p.publish({ event_type: 'create', path, size: corrupt.length, mime_type: 'application/pdf' });
    const fileId = fileIdFor(tenant, path);
    const row = await eventually(
      'the corrupt PDF to fail',
      async () => {
        const r = await p.pool.query<FileStatus>('SELECT status, error FROM files WHERE id = $1', [fileId]);
        return r.rows[0]?.status === 'failed' ? r.rows[0] : undefined;
      },
      20_000,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(row.error).toMatch(/CorruptFileError/);
    const errors = await p.pool.query<{ message: string; process: string }>(
      "SELECT message, process FROM errors WHERE metadata->>'file_id' = $1",
      [fileId],
    );
    expect(errors.rows).toHaveLength(1);
    expect(errors.rows[0]?.process).toBe('ingestFile');
    expect(errors.rows[0]?.message).toContain(path);
    const jobs = await p.pool.query<{ status: string }>(
      'SELECT status FROM jobs WHERE tenant_id = $1 AND error LIKE $2',
      [tenant, '%CorruptFileError%'],
    );
    expect(jobs.rows.map((j) => j.status)).toEqual(['failed']);
  });

  // The sample WAVs (and other audio) are transcribed: test/integration/content-audio.test.ts.
});
