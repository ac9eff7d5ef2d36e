/**
 * Providers read the downloaded file under its real name (real servers): formats told apart by their
 * extension are recognised, and every error names the user's file, never a temp file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdFor } from '../../src/domain/ids.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

let p: Pipeline;
const tenant = uniqueTenant('names');

interface FileRow {
  status: string;
  provider: string | null;
  error: string | null;
}

async function ingest(key: string, body: string | Uint8Array, mime?: string): Promise<FileRow> {
  await p.putObject(tenant, key, body, mime);
  const path = `/buckets/${tenant}/${key}`;
  await p.publish({ event_type: 'create', path, ...(mime ? { mime_type: mime } : {}) });
  return eventually(`files row of ${path} to finish`, async () => {
    const result = await p.pool.query<FileRow>('SELECT status, provider, error FROM files WHERE id = $1', [
      fileIdFor(tenant, path),
    ]);
    const row = result.rows[0];
    return row && row.status !== 'processing' ? row : undefined;
  });
}

beforeAll(async () => {
  p = await createPipeline('names');
  await p.startWorkers(['small']);
  await p.startBridge();
});

afterAll(async () => {
  await p?.close();
});

describe('the real file name reaches the provider', () => {
  it('reads flow-style YAML as YAML because the file is called .yaml (it is not JSON)', async () => {
    const row = await ingest('config/flow.yaml', '{name: p8fs, tiers: [small, medium, large], owner: ops}\n');
    expect(row).toMatchObject({ status: 'completed', provider: 'structured', error: null });
  });

  it('names the uploaded file in a corruption error, whatever the object is stored as', async () => {
    const row = await ingest('reports/quarterly report.docx', 'plain text pretending to be a document');
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/quarterly report\.docx/);
    expect(row.error).not.toMatch(/\bsource\b/);
  });

  it('keeps a file name that is unsafe on disk (a leading dot-dot) out of the scratch path but in the message', async () => {
    const row = await ingest('uploads/..strange.pdf', 'not a pdf at all');
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/\.\.strange\.pdf/);
  });
});
