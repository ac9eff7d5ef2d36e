/**
 * Dead letters are not the end: `p8fs dlq list` shows the reason, and once the cause is fixed (here: the
 * object is uploaded after its event arrived) `p8fs dlq replay` sends the event through the bridge again.
 * Real servers and the real CLI process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdFor } from '../../src/domain/ids.js';
import { runCli } from '../support/cli.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const env = isolatedEnv('replay');
let p: Pipeline;

beforeAll(async () => {
  p = await createPipeline('replay', {}, env);
  await p.startWorkers(['small']);
  await p.startBridge();
});

afterAll(async () => {
  await p?.close();
});

describe('dead-letter replay (real servers, real CLI)', () => {
  it('an event that arrived before its object is dead-lettered, listed, and completes after replay', async () => {
    const tenant = uniqueTenant('replay');
    const path = `/buckets/${tenant}/uploads/late.txt`;
    await p.putObject(tenant, 'uploads/placeholder.txt', 'bucket exists, object not yet');
    await p.publish({ event_type: 'create', path, size: 42, mime_type: 'text/plain' });
    await eventually('the dead letter', async () =>
      (await p.deadLetters()).length === 1 ? true : undefined,
    );

    const listed = await runCli(['dlq', 'list'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(
      /#\d+ .* create event for s3:\/\/.*\/uploads\/late\.txt, which does not exist/,
    );
    expect(listed.stdout).toContain(path);

    await p.putObject(
      tenant,
      'uploads/late.txt',
      'The object arrived late.\n\nNow it can be ingested.',
      'text/plain',
    );
    const replayed = await runCli(['dlq', 'replay', '--all'], env);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toMatch(/#\d+ replayed as .* seq \d+ \(was: create event for/);

    const fileId = fileIdFor(tenant, path);
    const status = await eventually('the replayed file to complete', async () => {
      const r = await p.pool.query<{ status: string }>('SELECT status FROM files WHERE id = $1', [fileId]);
      return r.rows[0]?.status === 'completed' ? r.rows[0].status : undefined;
    });
    expect(status).toBe('completed');
    expect(await p.deadLetters()).toHaveLength(0);
    const rows = await p.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM resources WHERE file_id = $1',
      [fileId],
    );
    expect(rows.rows[0]?.n).toBeGreaterThan(0);
  });
});
