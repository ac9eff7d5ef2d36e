/**
 * The demo's closing question (src/cli/demo-search.ts): on the demo's text files, ingested and embedded
 * through the whole pipeline on real servers, full-text search misses it and hybrid search answers it with
 * the diary's entry. The demo's PDF, DOCX and WAV are left out (same folders; extraction and transcription
 * would only add time): none of them holds the question's words either, which the text search over the
 * demo stack shows when `make demo` runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MEANING_QUERY, demoMeaningSearch } from '../../src/cli/demo-search.js';
import { embeddingProviderFromConfig } from '../../src/providers/embeddings/index.js';
import { samplesDir } from '../../src/stack/paths.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const env = isolatedEnv('demomeaning', { P8FS_EMBEDDINGS_ENABLED: 'true' });
const tenant = uniqueTenant('demomeaning');
let p: Pipeline;

/** The demo's Markdown and plain-text samples, as `make demo` uploads them (category = folder). */
function demoTextFiles(): { key: string; file: string; mime: string }[] {
  return ['content', 'small', 'dreaming/resources'].flatMap((folder) =>
    readdirSync(join(samplesDir(), folder))
      .filter((name) => /\.(md|txt)$/.test(name))
      .map((name) => ({
        key: `${folder.split('/').pop()}/${name}`,
        file: join(samplesDir(), folder, name),
        mime: name.endsWith('.md') ? 'text/markdown' : 'text/plain',
      })),
  );
}

beforeAll(async () => {
  p = await createPipeline('demomeaning', {}, env);
  await p.startWorkers(['small']);
  await p.startBridge();
  const files = demoTextFiles();
  for (const f of files) {
    const body = readFileSync(f.file);
    await p.putObject(tenant, f.key, body, f.mime);
    await p.publish({
      event_type: 'create',
      path: `/buckets/${tenant}/${f.key}`,
      size: body.length,
      mime_type: f.mime,
    });
  }
  const provider = embeddingProviderFromConfig(p.cfg).name;
  await eventually(
    'every demo text file stored and every chunk embedded',
    async () => {
      const { rows } = await p.pool.query<{ completed: number; chunks: number; vectors: number }>(
        `SELECT (SELECT count(*) FROM files WHERE tenant_id = $1 AND status = 'completed')::int AS completed,
                (SELECT count(*) FROM resources WHERE tenant_id = $1)::int AS chunks,
                (SELECT count(DISTINCT entity_id) FROM embeddings.resources_embeddings
                  WHERE tenant_id = $1 AND embedding_provider = $2)::int AS vectors`,
        [tenant, provider],
      );
      const r = rows[0];
      return r && r.completed === files.length && r.chunks > 0 && r.vectors === r.chunks ? r : undefined;
    },
    240_000,
  );
}, 300_000);

afterAll(async () => {
  await p?.close();
});

describe(`the demo's closing question: "${DEMO_MEANING_QUERY}"`, () => {
  it('is missed by full-text search: none of its words is in the demo files', async () => {
    const result = await demoMeaningSearch(p.pool, p.cfg, tenant, 'text');
    expect(result.total).toBe(0);
    expect(result.hits).toEqual([]);
  });

  it("is answered by hybrid search with the diary's entry about Mom's surgery first", async () => {
    const result = await demoMeaningSearch(p.pool, p.cfg, tenant, 'hybrid');
    const first = result.hits[0];
    expect(first?.fileName).toBe('diary_sample.md');
    const chunk = await p.pool.query<{ content: string }>('SELECT content FROM resources WHERE id = $1', [
      first?.resourceId,
    ]);
    expect(chunk.rows[0]?.content).toMatch(/Mom\. She's doing well after the surgery/);
  });
});
