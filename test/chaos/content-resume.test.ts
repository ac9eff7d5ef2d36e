/**
 * A streamed file resumes from its heartbeat after a worker dies (real Temporal, NATS, SeaweedFS,
 * PostgreSQL; workers as child processes, `p8fs worker --tier large`).
 *
 * A generated text file, large-tier by lowered tier thresholds and streamed (P8FS_STREAM_MIN_BYTES), is
 * extracted, chunked and stored in batches by `extractText`. Once its heartbeat carries a checkpoint past
 * a third of the file, the worker is SIGKILLed; a second worker takes the retry (after the large tier's
 * 60 s heartbeat timeout) and must continue from the checkpoint: its log says where it resumed, the rows
 * stored before the checkpoint are never written again (their updated_at is before the kill), and in the
 * end the rows are exactly the chunks an uninterrupted run makes (count, order and content), once each.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chunk, SectionChunker } from '../../src/domain/chunking.js';
import { fileIdFor } from '../../src/domain/ids.js';
import { LARGE_TIER_V8_FLAGS } from '../../src/domain/tiers.js';
import { textProvider } from '../../src/providers/formats/text.js';
import { localContext, localFile } from '../../src/providers/index.js';
import type { StreamCheckpoint } from '../../src/providers/provider.js';
import { ingestFileHandle } from '../../src/temporal/starts.js';
import { spawnWorkerProcess, type WorkerProcess } from '../support/cli.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const MiB = 1024 * 1024;
// Long enough that the stream outlives several heartbeats (sent at most every 5 s) on a quiet machine:
// 8 MiB streamed in about 5 s there, so the test saw one checkpoint before the activity ended.
const FILE_BYTES = 40 * MiB;
const PENDING_ACTIVITY_STATE_STARTED = 2;

// Everything above 2 KiB is large-tier; files from 1 MiB stream.
const env = isolatedEnv('resume', {
  P8FS_TIER_SMALL_MAX_BYTES: '1024',
  P8FS_TIER_MEDIUM_MAX_BYTES: '2048',
  P8FS_STREAM_MIN_BYTES: String(MiB),
});
const tenant = uniqueTenant('resume');
const dir = mkdtempSync(join(tmpdir(), 'p8fs-resume-'));
const workers: WorkerProcess[] = [];
let p: Pipeline | undefined;
const log = (message: string) => console.log(`[content-resume] ${message}`);

process.on('exit', () => {
  for (const worker of workers) if (alive(worker)) worker.child.kill('SIGKILL');
});

function alive(worker: WorkerProcess): boolean {
  return worker.child.exitCode === null && worker.child.signalCode === null;
}

function spawnWorker(extra: Record<string, string> = {}): WorkerProcess {
  const worker = spawnWorkerProcess(
    {
      ...env,
      // The large tier's heap ceiling given directly, so the worker does not restart itself as a child
      // and the pid this test kills is the worker's.
      NODE_OPTIONS: LARGE_TIER_V8_FLAGS,
      P8FS_WORKER_METRICS_PORT: '0',
      P8FS_LOG_FORMAT: 'json',
      P8FS_LOG_LEVEL: 'info',
      ...extra,
    },
    { tier: 'large', maxLines: 400 },
  );
  workers.push(worker);
  return worker;
}

function pipeline(): Pipeline {
  if (!p) throw new Error('pipeline not created');
  return p;
}

/** Deterministic prose in paragraphs, `bytes` long (ASCII). */
function generatedText(bytes: number): Buffer {
  const words = (
    'the of and to in is was for on that with as by at from they have had not are this which ' +
    'storage worker chunk token stream river mountain harbour engine signal letter garden window market'
  ).split(' ');
  let seed = 4242;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const out = Buffer.alloc(bytes, 0x20);
  let at = 0;
  while (at < bytes) {
    const sentences: string[] = [];
    for (let s = 2 + (next() % 6); s > 0; s--) {
      const sentence: string[] = [];
      for (let w = 6 + (next() % 14); w > 0; w--) sentence.push(words[next() % words.length] as string);
      const text = sentence.join(' ');
      sentences.push(`${text[0]?.toUpperCase()}${text.slice(1)}.`);
    }
    at += out.write(`${sentences.join(' ')}\n\n`, at, 'ascii');
  }
  return out;
}

/** The chunks an uninterrupted stream of the file makes (what the rows must be in the end). */
async function expectedChunks(path: string): Promise<{ count: number; md5: string }> {
  const chunker = new SectionChunker<StreamCheckpoint>({ maxTokens: 400, overlapTokens: 40 });
  const hash = createHash('md5');
  let count = 0;
  const take = (chunk: Chunk | undefined) => {
    if (!chunk) return;
    hash.update(count === 0 ? chunk.text : `\u0001${chunk.text}`);
    count++;
  };
  const file = await localFile(path, 'text/plain');
  for await (const item of textProvider.streamSections?.(file, localContext()) ?? []) {
    for (const step of chunker.add(item.section)) take(step);
  }
  for (const step of chunker.finish()) take(step);
  return { count, md5: hash.digest('hex') };
}

interface Progress {
  bytes: number;
  of: number;
  chunks: number;
  ordinal: number;
  resumedFrom: number;
  resume?: { source: { byte: number }; chunker: { emitted: number } };
}

beforeAll(async () => {
  p = await createPipeline('resume', {}, env);
  await p.startBridge();
});

afterAll(async () => {
  try {
    for (const worker of workers) {
      if (!alive(worker)) continue;
      const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
      worker.child.kill('SIGTERM');
      await worker.exited;
      clearTimeout(timer);
    }
  } finally {
    await p?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

describe('streamed extraction resumes from its heartbeat (real servers, workers as child processes)', () => {
  it('a worker SIGKILLed half way through a large-tier text file → the next worker continues from the checkpoint; rows complete, none twice', async () => {
    const body = generatedText(FILE_BYTES);
    const localPath = join(dir, 'huge.txt');
    writeFileSync(localPath, body);
    const expected = expectedChunks(localPath);
    const first = spawnWorker();

    const key = 'big/huge.txt';
    const path = `/buckets/${tenant}/${key}`;
    await pipeline().putObject(tenant, key, body, 'text/plain');
    await pipeline().publish({ event_type: 'create', path, size: body.length, mime_type: 'text/plain' });
    const workflowId = await eventually('the bridge to start the workflow', async () => {
      const result = pipeline().results.find((r) => r.kind === 'started');
      return result?.kind === 'started' ? result.workflowId : undefined;
    });
    const handle = ingestFileHandle(pipeline().temporal, workflowId);
    const converter = pipeline().temporal.options.loadedDataConverter.payloadConverter;
    const progressOf = async (): Promise<{ attempt: number; progress?: Progress } | undefined> => {
      const description = await handle.describe();
      const activity = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'extractText');
      if (!activity || activity.state !== PENDING_ACTIVITY_STATE_STARTED) return undefined;
      const payload = activity.heartbeatDetails?.payloads?.[0];
      const progress = payload ? (converter.fromPayload(payload) as Progress) : undefined;
      return { attempt: activity.attempt ?? 0, ...(progress ? { progress } : {}) };
    };

    // Streaming on the first worker, with a checkpoint past a third of the file.
    const before = await eventually(
      'a checkpoint past a third of the file',
      async () => {
        if (!alive(first)) throw new Error(`the first worker exited:\n${first.output.slice(-20).join('\n')}`);
        const state = await progressOf();
        const resume = state?.progress?.resume;
        return resume && resume.source.byte > FILE_BYTES / 3 ? state : undefined;
      },
      // Worker start-up and a third of the file: ~20 s on a quiet machine, minutes under parallel test load.
      180_000,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = new Date();
    const checkpoint = before.progress?.resume as NonNullable<Progress['resume']>;
    log(
      `first worker SIGKILLed at byte ${before.progress?.bytes} of ${FILE_BYTES}, ` +
        `${before.progress?.chunks} chunks stored; checkpoint byte ${checkpoint.source.byte}, ordinal ${checkpoint.chunker.emitted}`,
    );
    expect(before.attempt).toBe(1);
    expect(checkpoint.chunker.emitted).toBeGreaterThan(0);

    const second = spawnWorker();
    const outcome = await eventually(
      'the workflow to complete on the second worker',
      async () => {
        if (!alive(second))
          throw new Error(`the second worker exited:\n${second.output.slice(-20).join('\n')}`);
        const description = await handle.describe();
        return description.status.name === 'RUNNING' ? undefined : handle.result();
      },
      150_000,
    );
    log(
      `completed ${((Date.now() - killedAt.getTime()) / 1000).toFixed(1)} s after the kill: ${JSON.stringify(outcome)}`,
    );
    expect(outcome.status).toBe('completed');
    if (outcome.status !== 'completed') return;

    // The retry said where it resumed: at the checkpoint, not at byte 0.
    const resumedLine = second.output.find((line) => line.includes('resuming streamed extraction'));
    expect(resumedLine, second.output.slice(-30).join('\n')).toBeDefined();
    const resumed = JSON.parse(resumedLine as string) as { byte: number; ordinal: number };
    expect(resumed.byte).toBe(checkpoint.source.byte);
    expect(resumed.ordinal).toBe(checkpoint.chunker.emitted);
    expect(resumed.byte).toBeGreaterThan(0);

    // History: extractText scheduled once, completed by attempt 2 on the second worker.
    const events = (await handle.fetchHistory()).events ?? [];
    const extractId = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'extractText',
    )?.eventId;
    const started = events.filter(
      (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === String(extractId),
    );
    expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([2]);
    expect(started[0]?.activityTaskStartedEventAttributes?.identity).toMatch(new RegExp(`^${second.pid}@`));

    // Rows before the checkpoint were stored by the first worker and never written again.
    const db = pipeline().pool;
    const fileId = fileIdFor(tenant, path);
    const early = await db.query<{ n: number; untouched: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE updated_at < $3)::int AS untouched
       FROM resources WHERE file_id = $1 AND ordinal < $2`,
      [fileId, checkpoint.chunker.emitted, killedAt],
    );
    expect(early.rows[0]).toEqual({ n: checkpoint.chunker.emitted, untouched: checkpoint.chunker.emitted });

    // Complete and not duplicated: exactly the chunks of an uninterrupted run, in order.
    const want = await expected;
    const rows = await db.query<{ n: number; distinct_ordinals: number; max_ordinal: number; md5: string }>(
      `SELECT count(*)::int AS n, count(DISTINCT ordinal)::int AS distinct_ordinals, max(ordinal) AS max_ordinal,
              md5(string_agg(content, E'\\x01' ORDER BY ordinal)) AS md5
       FROM resources WHERE file_id = $1`,
      [fileId],
    );
    expect(rows.rows[0]).toEqual({
      n: want.count,
      distinct_ordinals: want.count,
      max_ordinal: want.count - 1,
      md5: want.md5,
    });
    expect(outcome.chunkCount).toBe(want.count);
    const file = await db.query('SELECT status, chunk_count FROM files WHERE id = $1', [fileId]);
    expect(file.rows[0]).toEqual({ status: 'completed', chunk_count: want.count });

    // Chunk metadata of a streamed row: offsets, token count, provider name and version.
    const sample = await db.query<{ metadata: Record<string, unknown> }>(
      'SELECT metadata FROM resources WHERE file_id = $1 AND ordinal = 1',
      [fileId],
    );
    expect(sample.rows[0]?.metadata).toMatchObject({
      provider: 'text',
      provider_version: textProvider.version,
      kinds: ['paragraph'],
    });
    const meta = sample.rows[0]?.metadata as { char_start: number; char_end: number; token_count: number };
    expect(meta.char_end).toBeGreaterThan(meta.char_start);
    expect(meta.token_count).toBeGreaterThan(0);
  }, 420_000);
});
