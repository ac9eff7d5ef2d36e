/**
 * Full-text search on real servers: files go through the whole pipeline (S3 → JetStream → bridge →
 * Temporal → workers → PostgreSQL), then searchResources and `p8fs search` (in-process) query them.
 * Two tenants hold overlapping words, so a leak across tenants would show.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEMO_SEARCH_QUERY, runDemoSearch } from '../../src/cli/demo-search.js';
import { searchResources } from '../../src/db/search.js';
import { fileIdFor } from '../../src/domain/ids.js';
import { samplesDir } from '../../src/stack/paths.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const env = isolatedEnv('search');
let p: Pipeline;
const tenantA = uniqueTenant('searcha');
const tenantB = uniqueTenant('searchb');

// A phrase that appears on page 3 of Sample.pdf only (page 1's diagram has "Engram" alone).
const PAGE3_PHRASE = 'Engram processor for content chunking';
const NOTES = 'Minutes of the board meeting. The auditor filed one annual report about the budget.\n';
// Tenant B holds the same words as tenant A's files: any hit of B's in A's search (or the reverse) is a leak.
const OTHER =
  'Tenant B notes: an engram processor for content chunking, and a report on the quarterly budget.\n';

async function ingest(tenant: string, key: string, body: Buffer | string, mime: string): Promise<string> {
  await p.putObject(tenant, key, body, mime);
  const path = `/buckets/${tenant}/${key}`;
  await p.publish({ event_type: 'create', path, size: Buffer.byteLength(body), mime_type: mime });
  const fileId = fileIdFor(tenant, path);
  const row = await eventually(`files row of ${path} to finish`, async () => {
    const result = await p.pool.query<{ status: string; error: string | null }>(
      'SELECT status, error FROM files WHERE id = $1',
      [fileId],
    );
    const r = result.rows[0];
    return r && r.status !== 'processing' && r.status !== 'pending' ? r : undefined;
  });
  expect(row, `${path} ingested`).toMatchObject({ status: 'completed', error: null });
  return fileId;
}

let pdfId: string;
let notesId: string;
let otherId: string;

beforeAll(async () => {
  p = await createPipeline('search', {}, env);
  await p.startWorkers(['small']);
  await p.startBridge();
  [pdfId, notesId, otherId] = await Promise.all([
    ingest(
      tenantA,
      'content/Sample.pdf',
      readFileSync(join(samplesDir(), 'content/Sample.pdf')),
      'application/pdf',
    ),
    ingest(tenantA, 'notes/board-minutes.txt', NOTES, 'text/plain'),
    ingest(tenantB, 'notes/other.txt', OTHER, 'text/plain'),
  ]);
}, 120_000);

afterAll(async () => {
  await p?.close();
});

describe('full-text search over resources (real PostgreSQL, files ingested through the pipeline)', () => {
  it('the language-aware index replaced the simple one', async () => {
    const indexes = await p.pool.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'resources'`,
    );
    const names = indexes.rows.map((r) => r.indexname);
    expect(names).toContain('resources_search_vector');
    expect(names).not.toContain('resources_search');
  });

  it('a phrase from page 3 of Sample.pdf returns that chunk first, with page 3', async () => {
    // Which chunks really hold the phrase (the chunker's overlap may repeat it in the next chunk).
    const holders = await p.pool.query<{ id: string }>(
      `SELECT id FROM resources WHERE file_id = $1
       AND regexp_replace(content, '\\s+', ' ', 'g') ILIKE '%' || $2 || '%'`,
      [pdfId, PAGE3_PHRASE],
    );
    expect(holders.rows.length).toBeGreaterThan(0);
    const holderIds = holders.rows.map((r) => r.id);

    for (const query of [PAGE3_PHRASE, `"${PAGE3_PHRASE}"`]) {
      const result = await searchResources(p.pool, { tenantId: tenantA, query });
      const first = result.hits[0];
      expect(first, query).toBeDefined();
      expect(holderIds, query).toContain(first?.resourceId);
      expect(first).toMatchObject({
        fileId: pdfId,
        fileName: 'Sample.pdf',
        path: `/buckets/${tenantA}/content/Sample.pdf`,
        uri: `s3://${tenantA}/content/Sample.pdf`,
        category: 'content',
      });
      expect(first?.pages).toContain(3);
      expect(first?.snippet).toMatch(/«Engram»/i);
      expect(first?.snippet).toMatch(/«chunking»/i);
      expect(first?.rank).toBeGreaterThan(0);
      // Tenant B's file holds the same phrase: it must not appear.
      expect(result.hits.map((h) => h.fileId)).not.toContain(otherId);
    }
  });

  it('"reports" finds "report" (english stemming), which the old simple configuration could not', async () => {
    const result = await searchResources(p.pool, { tenantId: tenantA, query: 'reports' });
    expect(result.parsedQuery).toBe("'report'");
    expect(result.hits.map((h) => h.fileId)).toEqual([notesId]);
    expect(result.total).toBe(1);
    expect(result.hits[0]?.fileName).toBe('board-minutes.txt');
    expect(result.hits[0]?.snippet).toContain('«report»');
    // The control: the same row under the `simple` configuration does not match "reports".
    const simple = await p.pool.query<{ matches: boolean }>(
      `SELECT to_tsvector('simple', content) @@ plainto_tsquery('simple', 'reports') AS matches
       FROM resources WHERE file_id = $1`,
      [notesId],
    );
    expect(simple.rows.map((r) => r.matches)).toEqual([false]);
  });

  it("another tenant's files never appear; each tenant sees its own", async () => {
    const queries = ['report budget', 'engram', 'content or chunking or report', 'tenant notes'];
    for (const query of queries) {
      const a = await searchResources(p.pool, { tenantId: tenantA, query, limit: 100 });
      const b = await searchResources(p.pool, { tenantId: tenantB, query, limit: 100 });
      expect(
        a.hits.map((h) => h.fileId),
        query,
      ).not.toContain(otherId);
      for (const hit of b.hits) expect(hit.fileId, query).toBe(otherId);
      // Every file of A that could match is A's; B finds its own one file where the words are there.
      for (const hit of a.hits) expect([pdfId, notesId], query).toContain(hit.fileId);
    }
    const own = await searchResources(p.pool, { tenantId: tenantB, query: 'quarterly budget' });
    expect(own.hits.map((h) => h.fileId)).toEqual([otherId]);
    const none = await searchResources(p.pool, { tenantId: tenantA, query: 'quarterly' });
    expect(none.total).toBe(0);
  });

  it('paging: limit and offset walk the ranked list; total counts every match', async () => {
    const all = await searchResources(p.pool, { tenantId: tenantA, query: 'content', limit: 100 });
    expect(all.total).toBeGreaterThan(2);
    expect(all.hits.length).toBe(all.total);
    const ranks = all.hits.map((h) => h.rank);
    expect([...ranks].sort((x, y) => y - x)).toEqual(ranks);
    const page2 = await searchResources(p.pool, { tenantId: tenantA, query: 'content', limit: 2, offset: 2 });
    expect(page2.total).toBe(all.total);
    expect(page2.hits.map((h) => h.resourceId)).toEqual(all.hits.slice(2, 4).map((h) => h.resourceId));
    const past = await searchResources(p.pool, { tenantId: tenantA, query: 'content', offset: all.total });
    expect(past).toMatchObject({ hits: [], total: all.total });
  });

  it('stop words only, empty queries and bad limits are told apart from "no hits"', async () => {
    const stop = await searchResources(p.pool, { tenantId: tenantA, query: 'the and of' });
    expect(stop.hits).toEqual([]);
    expect(stop.note).toMatch(/stop words/);
    await expect(searchResources(p.pool, { tenantId: tenantA, query: '   ' })).rejects.toThrow(/empty/);
    await expect(searchResources(p.pool, { tenantId: tenantA, query: 'x', limit: 0 })).rejects.toThrow(
      /limit must be a whole number from 1 to 100/,
    );
    // Search-box syntax people type, even broken, is not an SQL error.
    const odd = await searchResources(p.pool, { tenantId: tenantA, query: `"unclosed -(engram & | :*` });
    expect(odd.parsedQuery.length).toBeGreaterThan(0);
  });

  it('p8fs search prints ranked hits with file, pages and snippet; --json gives the same hits', async () => {
    const text = await runCliInProcess(['search', PAGE3_PHRASE, '--tenant', tenantA, '--limit', '3'], env);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^\\d+ hits? for "${PAGE3_PHRASE}" in tenant ${tenantA}`));
    console.log(`p8fs search output:\n${text.stdout}`);
    const firstHit = lines.find((l) => /^1\. /.test(l));
    expect(firstHit).toMatch(new RegExp(`^1\\. /buckets/${tenantA}/content/Sample.pdf · pages? [\\d, ]*3`));
    expect(text.stdout).toMatch(/«Engram»/i);

    // Text mode by name: ingestion may have embedded the chunks, and the default would then be hybrid.
    const json = await runCliInProcess(
      ['search', 'reports', '--tenant', tenantA, '--mode', 'text', '--json'],
      env,
    );
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { tenant: string; total: number; hits: { fileId: string }[] };
    expect(parsed).toMatchObject({ tenant: tenantA, total: 1 });
    expect(parsed.hits.map((h) => h.fileId)).toEqual([notesId]);

    const stop = await runCliInProcess(['search', 'the', '--tenant', tenantA, '--mode', 'text'], env);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/^no hits for "the": the query holds only stop words/);

    const nobody = uniqueTenant('searchnobody');
    const typo = await runCliInProcess(['search', 'report', '--tenant', nobody], env);
    expect(typo.code).toBe(0);
    expect(typo.stdout).toMatch(new RegExp(`^no hits for "report" in tenant ${nobody}`));
    expect(typo.stderr).toContain(`tenant ${nobody} has no ingested files`);
  });

  it('make demo ends with one search: its query finds page 3 of Sample.pdf', async () => {
    const printed: string[] = [];
    const said: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
      printed.push(parts.map(String).join(' '));
    });
    let ok: boolean;
    try {
      ok = await runDemoSearch(p.cfg, tenantA, (line) => said.push(line));
    } finally {
      spy.mockRestore();
    }
    expect(ok).toBe(true);
    expect(said[0]).toContain(`p8fs search "${DEMO_SEARCH_QUERY}" --tenant ${tenantA}`);
    const out = printed.join('\n');
    expect(out).toMatch(new RegExp(`\\n1\\. /buckets/${tenantA}/content/Sample.pdf · pages? [\\d, ]*3`));
  });
});
