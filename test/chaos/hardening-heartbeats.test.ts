/**
 * Long steps keep heartbeating (real Temporal, NATS, SeaweedFS, PostgreSQL).
 *
 * A ~100 MiB text file on the small tier (heartbeat timeout 15 s): chunking it takes far longer than
 * 15 s of CPU, and storing it tens of thousands of rows. Before, chunkText and storeChunks sent no
 * heartbeat (and chunking held the event loop for the whole document), so Temporal timed the attempt
 * out and started another every 15 s while the first still ran. Now both heartbeat from inside their
 * loops and yield the event loop, so every activity completes on its first attempt: the workflow
 * history's ActivityTaskStarted events say so.
 *
 * And the store's claim: an attempt of storeChunks that wakes up after a later attempt of the same run
 * claimed the file writes nothing and reports that it was superseded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceResources, upsertFile } from '../../src/db/files/index.js';
import type { Chunk } from '../../src/domain/chunking.js';
import { fileIdFor } from '../../src/domain/ids.js';
import { parseStorageEvent, type StorageEvent } from '../../src/domain/storage-event.js';
import { ingestFileHandle } from '../../src/temporal/starts.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

const MiB = 1024 * 1024;
const log = (message: string) => console.log(`[hardening-heartbeats] ${message}`);

let p: Pipeline;
const tenant = uniqueTenant('heartbeats');

beforeAll(async () => {
  // The workflow from src (not a prebuilt dist/ bundle that may predate it).
  p = await createPipeline('heartbeats', {});
  await p.startWorkers(['small']);
  await p.startBridge();
});

afterAll(async () => {
  await p?.close();
});

/** Deterministic prose: paragraphs of sentences of common words, `bytes` long (ASCII, so bytes = chars). */
function generatedText(bytes: number): Buffer {
  const words = (
    'the of and to in is was for on that with as by at from his her they have had not are this which ' +
    'storage worker chunk token stream river mountain harbour engine signal letter garden window market'
  ).split(' ');
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const out = Buffer.alloc(bytes, 0x20);
  let at = 0;
  while (at < bytes) {
    const sentences: string[] = [];
    for (let s = 3 + (next() % 6); s > 0; s--) {
      const sentence: string[] = [];
      for (let w = 6 + (next() % 14); w > 0; w--) sentence.push(words[next() % words.length] as string);
      const text = sentence.join(' ');
      sentences.push(`${text[0]?.toUpperCase()}${text.slice(1)}.`);
    }
    at += out.write(`${sentences.join(' ')}\n\n`, at, 'ascii');
  }
  return out;
}

describe('long steps heartbeat (real servers)', () => {
  it('a ~100 MiB text file on the small tier completes with every activity on its first attempt', async () => {
    const body = generatedText(100 * MiB - 4096);
    const key = 'big/generated.txt';
    const path = `/buckets/${tenant}/${key}`;
    await p.putObject(tenant, key, body, 'text/plain');
    const started = Date.now();
    await p.publish({ event_type: 'create', path, size: body.length, mime_type: 'text/plain' });

    const workflowId = await eventually('the bridge to start the workflow', async () => {
      const result = p.results.find((r) => r.kind === 'started');
      return result?.kind === 'started' ? result.workflowId : undefined;
    });
    const handle = ingestFileHandle(p.temporal, workflowId);
    const outcome = await eventually(
      'the 100 MiB file to be ingested',
      async () => {
        const description = await handle.describe();
        return description.status.name === 'RUNNING' ? undefined : handle.result();
      },
      240_000,
    );
    const seconds = (Date.now() - started) / 1000;
    log(`100 MiB text ingested in ${seconds.toFixed(1)} s: ${JSON.stringify(outcome)}`);
    expect(outcome.status).toBe('completed');
    if (outcome.status !== 'completed') return;
    expect(outcome.chunkCount).toBeGreaterThan(20_000);

    // Every activity ran exactly once, on attempt 1: no heartbeat timeout started a second attempt.
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const scheduled = new Map<string, string>();
    for (const e of events) {
      const attrs = e.activityTaskScheduledEventAttributes;
      if (attrs) scheduled.set(String(e.eventId), attrs.activityType?.name ?? '?');
    }
    const starts = events.flatMap((e) => {
      const attrs = e.activityTaskStartedEventAttributes;
      return attrs
        ? [{ activity: scheduled.get(String(attrs.scheduledEventId)), attempt: attrs.attempt }]
        : [];
    });
    // How long each step took, from the history's timestamps (for the log: where the time goes).
    const startedAt = new Map<string, number>();
    const took: string[] = [];
    for (const e of events) {
      const time = e.eventTime ? Number(e.eventTime.seconds) * 1000 + (e.eventTime.nanos ?? 0) / 1e6 : 0;
      const begun = e.activityTaskStartedEventAttributes;
      if (begun) startedAt.set(String(begun.scheduledEventId), time);
      const done = e.activityTaskCompletedEventAttributes;
      if (done) {
        const id = String(done.scheduledEventId);
        took.push(`${scheduled.get(id)} ${((time - (startedAt.get(id) ?? time)) / 1000).toFixed(1)} s`);
      }
    }
    log(`activity attempts: ${JSON.stringify(starts)}; durations: ${took.join(', ')}`);
    expect(starts).toEqual([
      // Registered by ingestSmallFile, which hands a file above P8FS_SINGLE_ACTIVITY_MAX_BYTES to the steps.
      { activity: 'ingestSmallFile', attempt: 1 },
      { activity: 'extractText', attempt: 1 },
      { activity: 'chunkText', attempt: 1 },
      { activity: 'storeChunks', attempt: 1 },
    ]);
    const timedOut = events.filter((e) => e.activityTaskTimedOutEventAttributes);
    expect(timedOut).toEqual([]);

    const fileId = fileIdFor(tenant, path);
    const row = await p.pool.query<{ status: string; chunk_count: number; n: number }>(
      `SELECT status, chunk_count, (SELECT count(*)::int FROM resources WHERE file_id = $1) AS n
       FROM files WHERE id = $1`,
      [fileId],
    );
    expect(row.rows[0]).toEqual({
      status: 'completed',
      chunk_count: outcome.chunkCount,
      n: outcome.chunkCount,
    });
    expect(seconds).toBeLessThan(240);
  }, 300_000);

  it('an attempt of the store that wakes up after a later attempt claimed the file writes nothing', async () => {
    const parsed = parseStorageEvent({ event_type: 'create', path: `/buckets/${tenant}/claims/a.txt` });
    if (parsed.kind !== 'event') throw new Error(parsed.kind);
    const event: StorageEvent = parsed.event;
    const fileId = fileIdFor(tenant, event.path);
    const jobId = '33333333-3333-5333-8333-333333333333';
    await upsertFile(p.pool, { fileId, event, version: 'v1', status: 'processing' });
    const chunks = (text: string, n: number): Chunk[] =>
      Array.from({ length: n }, (_, ordinal) => ({ ordinal, text: `${text} ${ordinal}`, tokenCount: 3 }));
    const store = (attempt: number, text: string, n: number) =>
      replaceResources(p.pool, {
        fileId,
        jobId,
        event,
        chunks: chunks(text, n),
        provider: 'text',
        contentHash: text,
        version: 'v1',
        claim: { runId: 'run-1', attempt },
      });

    // Attempt 2 (Temporal's retry after attempt 1 stopped heartbeating) stores first.
    await expect(store(2, 'from attempt two', 3)).resolves.toEqual({ inserted: 3, replaced: 0 });
    // Attempt 1 wakes up late: superseded, and nothing of it is written.
    await expect(store(1, 'from attempt one', 5)).resolves.toEqual({
      superseded: 'attempt 1 of this store was superseded by attempt 2',
    });
    const rows = await p.pool.query<{ content: string }>(
      'SELECT content FROM resources WHERE file_id = $1 ORDER BY ordinal',
      [fileId],
    );
    expect(rows.rows.map((r) => r.content)).toEqual([
      'from attempt two 0',
      'from attempt two 1',
      'from attempt two 2',
    ]);
    const file = await p.pool.query(
      'SELECT status, chunk_count, content_hash, store_run_id, store_attempt FROM files WHERE id = $1',
      [fileId],
    );
    expect(file.rows[0]).toEqual({
      status: 'completed',
      chunk_count: 3,
      content_hash: 'from attempt two',
      store_run_id: 'run-1',
      store_attempt: 2,
    });
    // A later attempt (3) may still replace what attempt 2 wrote; so may another run of the file.
    await expect(store(3, 'from attempt three', 2)).resolves.toEqual({ inserted: 2, replaced: 3 });
  });
});
