/**
 * Uploads flow by themselves (real SeaweedFS, NATS, Temporal, PostgreSQL): the subscriber follows the
 * filer's metadata stream, and S3 PutObject / overwrite / DeleteObject and a move through the filer's
 * HTTP API lead to the right rows with no event published by the test.
 *
 * The subscriber runs in-process on this file's own names (stream, cursor bucket) and only below this
 * file's tenant bucket (P8FS_SUBSCRIBER_PATH_PREFIX), so files running in parallel on the shared filer
 * never see each other's objects.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteResult } from '../../src/bridge/route-event.js';
import { eventually, type Pipeline } from '../support/pipeline.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { createSubscribedPipeline, type SubscribedPipeline } from '../support/subscriber.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

type Started = Extract<RouteResult, { kind: 'started' }>;

const tenant = uniqueTenant('subscriber');
const env = isolatedEnv('subscriber', {
  P8FS_SUBSCRIBER_PATH_PREFIX: `/buckets/${tenant}/`,
  P8FS_SUBSCRIBER_HEALTH_PORT: '0',
});
env.P8FS_SUBSCRIBER_CURSOR_BUCKET = `cursor-${env.P8FS_TASK_QUEUE_PREFIX}`;

let p: Pipeline;
let running: SubscribedPipeline | undefined;

beforeAll(async () => {
  running = await createSubscribedPipeline('subscriber', env, tenant, ['small']);
  p = running.p;
}, 60_000);

afterAll(async () => {
  await running?.close();
});

function started(type: string, path: string): Started[] {
  return p.results.filter(
    (r): r is Started => r.kind === 'started' && r.event.type === type && r.event.path === path,
  );
}

async function completedFile(path: string): Promise<{ id: string; resources: number }> {
  return eventually(
    `files row of ${path} to complete`,
    async () => {
      const r = await p.pool.query<{ id: string; status: string; resources: number }>(
        `SELECT f.id, f.status, (SELECT count(*)::int FROM resources r WHERE r.file_id = f.id) AS resources
         FROM files f WHERE f.path = $1`,
        [path],
      );
      const row = r.rows[0];
      if (row?.status === 'failed') throw new Error(`${path} failed`);
      return row?.status === 'completed' && row.resources > 0 ? row : undefined;
    },
    90_000,
  );
}

async function contentOf(fileId: string): Promise<string> {
  const r = await p.pool.query<{ content: string }>(
    'SELECT content FROM resources WHERE file_id = $1 ORDER BY ordinal',
    [fileId],
  );
  return r.rows.map((row) => row.content).join(' ');
}

describe('the SeaweedFS filer subscriber', () => {
  it('PutObject of Sample.docx alone makes its resources', async () => {
    const path = `/buckets/${tenant}/docs/Sample.docx`;
    await p.putObject(
      tenant,
      'docs/Sample.docx',
      await readFile(join(SAMPLES_DIR, 'content/Sample.docx')),
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    );
    const file = await completedFile(path);
    expect(file.resources).toBeGreaterThan(0);
    expect(started('create', path)).toHaveLength(1);
    expect(running?.subscriber.counters.published).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('an overwrite runs once for the new content; DeleteObject removes the rows', async () => {
    const key = 'notes/overwrite.txt';
    const path = `/buckets/${tenant}/${key}`;
    await p.putObject(tenant, key, 'Alpha version of the notes. '.repeat(40), 'text/plain');
    const first = await completedFile(path);
    expect(await contentOf(first.id)).toContain('Alpha version');

    await p.putObject(tenant, key, 'Bravo version of the notes. '.repeat(40), 'text/plain');
    await eventually('the update run', async () => (started('update', path).length > 0 ? true : undefined));
    const updated = await eventually('the new content in resources', async () => {
      const text = await contentOf(first.id);
      return text.includes('Bravo version') && !text.includes('Alpha version') ? text : undefined;
    });
    expect(updated).toContain('Bravo');
    expect(started('update', path)).toHaveLength(1);
    expect(started('create', path)).toHaveLength(1);

    await p.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: key }));
    await eventually(
      `the rows of ${path} to go`,
      async () => {
        const r = await p.pool.query('SELECT 1 FROM files WHERE path = $1', [path]);
        return r.rowCount === 0 ? true : undefined;
      },
      60_000,
    );
    const resources = await p.pool.query('SELECT 1 FROM resources WHERE file_id = $1', [first.id]);
    expect(resources.rowCount).toBe(0);
  }, 180_000);

  it('a move through the filer moves the rows to the new path', async () => {
    const oldKey = 'notes/before.md';
    const newKey = 'notes/after.md';
    const oldPath = `/buckets/${tenant}/${oldKey}`;
    const newPath = `/buckets/${tenant}/${newKey}`;
    await p.putObject(
      tenant,
      oldKey,
      '# Moving\n\nA paragraph that moves with its file. '.repeat(20),
      'text/markdown',
    );
    await completedFile(oldPath);
    const moved = await fetch(`${p.cfg.s3.filerUrl}${newPath}?mv.from=${encodeURIComponent(oldPath)}`, {
      method: 'POST',
    });
    expect(moved.status, await moved.text()).toBeLessThan(300);
    const file = await completedFile(newPath);
    expect(await contentOf(file.id)).toContain('moves with its file');
    await eventually('the old path to be gone', async () => {
      const r = await p.pool.query('SELECT 1 FROM files WHERE path = $1', [oldPath]);
      return r.rowCount === 0 ? true : undefined;
    });
    expect(started('rename', newPath).length).toBeGreaterThanOrEqual(1);
    expect(running?.subscriber.skippedByReason.get('directory')).toBeGreaterThan(0);
  }, 120_000);
});
