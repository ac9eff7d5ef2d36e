/**
 * What the bridge does with events that cannot (or need not) become an ingestion, against the real test
 * stack (Temporal, NATS JetStream, SeaweedFS S3, PostgreSQL): bad events go to the DLQ with a readable
 * reason and their original payload, directories are ignored and counted, sizes come from S3 when the
 * event has none, and delete/rename events change the stored rows.
 */
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeCounters } from '../../src/bridge/bridge.js';
import type { RouteResult } from '../../src/bridge/route-event.js';
import { fileIdFor, resourceIdFor } from '../../src/domain/ids.js';
import type { IngestFileInput, IngestOutcome } from '../../src/domain/ingest.js';
import type { StorageEventType } from '../../src/domain/storage-event.js';
import type { DeadLetter } from '../../src/events/dead-letter.js';
import { taskQueueFor } from '../../src/temporal/names.js';
import { SearchAttributes } from '../../src/temporal/search-attributes.js';
import { ingestFileHandle } from '../../src/temporal/starts.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

const SMALL_MAX = 1000;
const MEDIUM_MAX = 5000;

type Started = Extract<RouteResult, { kind: 'started' }>;

let p: Pipeline;

beforeAll(async () => {
  p = await createPipeline('dlq', {
    P8FS_TIER_SMALL_MAX_BYTES: String(SMALL_MAX),
    P8FS_TIER_MEDIUM_MAX_BYTES: String(MEDIUM_MAX),
    P8FS_CHUNK_TOKENS: '80',
    P8FS_CHUNK_OVERLAP_TOKENS: '10',
  });
  await p.startWorkers();
  await p.startBridge();
});

afterAll(async () => {
  await p?.close();
});

function bridgeCounters(): BridgeCounters {
  if (!p.bridge) throw new Error('bridge not running');
  return { ...p.bridge.counters };
}

function text(bytes: number, seed = 'p8fs'): string {
  const sentence = `The ${seed} bridge keeps every event: started, ignored or dead-lettered with a reason. `;
  return sentence.repeat(Math.ceil(bytes / sentence.length)).slice(0, bytes);
}

/** Waits for the bridge to start the workflow of `type` on `path`, then for that workflow's result. */
async function startedFor(type: StorageEventType, path: string): Promise<Started> {
  return eventually(`the bridge to start the ${type} workflow of ${path}`, async () =>
    p.results.find(
      (r): r is Started => r.kind === 'started' && r.event.type === type && r.event.path === path,
    ),
  );
}

async function resultOf(started: Started): Promise<IngestOutcome> {
  return await ingestFileHandle(p.temporal, started.workflowId).result();
}

async function deadLetterWith(payload: string): Promise<DeadLetter> {
  return eventually(`a dead letter carrying ${JSON.stringify(payload).slice(0, 80)}`, async () =>
    (await p.deadLetters()).find((letter) => letter.payload === payload),
  );
}

/** Uploads `key` and runs its create event to completion; returns the outcome and the file id. */
async function ingest(tenant: string, key: string, body: string) {
  const path = `/buckets/${tenant}/${key}`;
  await p.putObject(tenant, key, body, 'text/plain');
  await p.publish({ event_type: 'create', path, size: body.length, mime_type: 'text/plain' });
  const outcome = await resultOf(await startedFor('create', path));
  expect(outcome.status).toBe('completed');
  const chunkCount = outcome.status === 'completed' ? outcome.chunkCount : -1;
  return { path, fileId: fileIdFor(tenant, path), chunkCount };
}

async function rowsOf(fileId: string): Promise<{ files: number; resources: number }> {
  const { rows } = await p.pool.query<{ files: number; resources: number }>(
    `SELECT (SELECT count(*)::int FROM files WHERE id = $1) AS files,
            (SELECT count(*)::int FROM resources WHERE file_id = $1) AS resources`,
    [fileId],
  );
  return rows[0] ?? { files: -1, resources: -1 };
}

describe('bridge dead letters, ignores, sizes from S3, deletes and renames (real servers: Temporal, NATS JetStream, SeaweedFS, PostgreSQL)', () => {
  it('dead-letters a malformed event, a path escaping its bucket and a missing object with readable reasons, and keeps running (real servers)', async () => {
    const tenant = uniqueTenant('dlq');
    const before = bridgeCounters();
    // The bucket exists (so the missing object is the only problem).
    await p.putObject(tenant, 'uploads/present.txt', text(300), 'text/plain');

    const malformed = '{"event_type":"create","path": this is not json';
    const escaping = JSON.stringify({
      event_type: 'create',
      path: `/buckets/${tenant}/../etc/passwd`,
      size: 10,
      mime_type: 'text/plain',
    });
    const missingPath = `/buckets/${tenant}/uploads/never-uploaded.txt`;
    const missing = JSON.stringify({
      event_type: 'create',
      path: missingPath,
      size: 42,
      mime_type: 'text/plain',
    });
    const seqs = [await p.publish(malformed), await p.publish(escaping), await p.publish(missing)];

    const notJson = await deadLetterWith(malformed);
    expect(notJson.reason).toMatch(/not valid JSON/i);
    const escaped = await deadLetterWith(escaping);
    expect(escaped.reason).toMatch(/escapes its bucket/);
    expect(escaped.reason).toContain('".."');
    expect(escaped.reason).toContain(`/buckets/${tenant}/../etc/passwd`);
    const absent = await deadLetterWith(missing);
    expect(absent.reason).toContain(`s3://${tenant}/uploads/never-uploaded.txt`);
    expect(absent.reason).toMatch(/does not exist/);

    for (const [letter, seq] of [
      [notJson, seqs[0]],
      [escaped, seqs[1]],
      [absent, seqs[2]],
    ] as const) {
      expect(letter).toMatchObject({
        subject: p.cfg.nats.eventsSubject,
        stream: p.cfg.nats.eventsStream,
        streamSequence: seq,
        deliveryCount: 1,
      });
      expect(letter.payloadBase64).toBeUndefined();
    }
    expect(p.results.some((r) => r.kind === 'started' && r.event.path === missingPath)).toBe(false);

    // The bridge keeps running: a valid event published afterwards completes.
    const valid = await ingest(tenant, 'uploads/after-the-bad-ones.txt', text(600, 'valid'));
    expect(valid.chunkCount).toBeGreaterThan(0);
    expect(await rowsOf(valid.fileId)).toEqual({ files: 1, resources: valid.chunkCount });
    const after = bridgeCounters();
    expect(after.deadLettered - before.deadLettered).toBe(3);
    expect(after.started - before.started).toBe(1);
    expect(after.retried - before.retried).toBe(0);
    expect(p.bridge?.temporalAvailable).toBe(true);
  });

  it('routes an event without a size by the size S3 reports: above medium max goes to the large tier (real servers)', async () => {
    const tenant = uniqueTenant('nosize');
    const key = 'uploads/big-without-size.txt';
    const path = `/buckets/${tenant}/${key}`;
    const body = text(MEDIUM_MAX + 1500, 'large');
    await p.putObject(tenant, key, body, 'text/plain');
    await p.publish({ event_type: 'create', path, mime_type: 'text/plain' });

    const started = await startedFor('create', path);
    expect(started.tier).toBe('large');
    expect(started.taskQueue).toBe(taskQueueFor(p.cfg, 'large'));
    expect(started.event.size).toBe(body.length);

    const handle = ingestFileHandle(p.temporal, started.workflowId);
    const description = await handle.describe();
    expect(description.taskQueue).toBe(`${p.cfg.temporal.taskQueuePrefix}-storage-large`);
    expect(description.typedSearchAttributes.get(SearchAttributes.FileSize)).toBe(body.length);
    expect(description.typedSearchAttributes.get(SearchAttributes.Tier)).toBe('large');
    const history = await handle.fetchHistory();
    const startedAttrs = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(startedAttrs?.taskQueue?.name).toBe(taskQueueFor(p.cfg, 'large'));
    // The workflow input (JSON payload) carries the tier and the size S3 reported.
    const data = startedAttrs?.input?.payloads?.[0]?.data;
    const input = JSON.parse(Buffer.from(data ?? []).toString('utf8')) as IngestFileInput;
    expect(input.tier).toBe('large');
    expect(input.event.size).toBe(body.length);

    const outcome = await handle.result();
    expect(outcome.status).toBe('completed');
    const { rows } = await p.pool.query<{ file_size: number | string; status: string }>(
      'SELECT file_size, status FROM files WHERE id = $1',
      [fileIdFor(tenant, path)],
    );
    expect(rows.map((r) => ({ ...r, file_size: Number(r.file_size) }))).toEqual([
      { file_size: body.length, status: 'completed' },
    ]);
  });

  it('ignores a directory event and counts it, without dead-lettering it (real servers)', async () => {
    const tenant = uniqueTenant('dir');
    const before = bridgeCounters();
    const payload = JSON.stringify({
      event_type: 'create',
      path: `/buckets/${tenant}/uploads/`,
      is_directory: true,
    });
    const seq = await p.publish(payload);
    await eventually('the bridge to ignore the directory event', async () =>
      bridgeCounters().ignored - before.ignored >= 1 ? true : undefined,
    );
    // Acked: the consumer's ack floor passed the message, so it is never redelivered.
    await eventually('the directory event to be acknowledged', async () => {
      const info = await p.js.consumers
        .get(p.cfg.nats.eventsStream, p.cfg.nats.bridgeConsumer)
        .then((c) => c.info(false));
      return info.ack_floor.stream_seq >= seq ? true : undefined;
    });
    const after = bridgeCounters();
    expect(after.ignored - before.ignored).toBe(1);
    expect(after.deadLettered - before.deadLettered).toBe(0);
    expect(after.started - before.started).toBe(0);
    const ignored = p.results.filter((r) => r.kind === 'ignored');
    expect(ignored.at(-1)).toMatchObject({ kind: 'ignored', reason: expect.stringMatching(/directory/) });
    expect((await p.deadLetters()).some((letter) => letter.payload === payload)).toBe(false);
    const { rows } = await p.pool.query('SELECT id FROM files WHERE tenant_id = $1', [tenant]);
    expect(rows).toEqual([]);
  });

  it('a delete event after a completed create removes the file and its resources (real servers)', async () => {
    const tenant = uniqueTenant('delete');
    const created = await ingest(tenant, 'uploads/to-delete.txt', text(2500, 'delete'));
    expect(created.chunkCount).toBeGreaterThan(1);
    expect(await rowsOf(created.fileId)).toEqual({ files: 1, resources: created.chunkCount });

    // A producer publishes the delete after S3 deleted the object.
    await p.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: 'uploads/to-delete.txt' }));
    await p.publish({ event_type: 'delete', path: created.path });
    const deleted = await resultOf(await startedFor('delete', created.path));
    expect(deleted).toEqual({
      status: 'deleted',
      fileId: created.fileId,
      resourcesDeleted: created.chunkCount,
    });
    expect(await rowsOf(created.fileId)).toEqual({ files: 0, resources: 0 });
    const { rows } = await p.pool.query('SELECT id FROM resources WHERE tenant_id = $1', [tenant]);
    expect(rows).toEqual([]);
    const derived = await p.s3.send(
      new ListObjectsV2Command({ Bucket: p.cfg.s3.derivedBucket, Prefix: `${tenant}/${created.fileId}/` }),
    );
    expect(derived.KeyCount ?? 0).toBe(0);
  });

  it('a rename event moves the file and its resources to the new path and id (real servers)', async () => {
    const tenant = uniqueTenant('rename');
    const body = text(2500, 'rename');
    const created = await ingest(tenant, 'uploads/old-name.txt', body);
    expect(created.chunkCount).toBeGreaterThan(1);
    const before = await p.pool.query<{ ordinal: number; content: string }>(
      'SELECT ordinal, content FROM resources WHERE file_id = $1 ORDER BY ordinal',
      [created.fileId],
    );

    // After a rename the object lives at the new key; the bridge HEADs it there.
    const newKey = 'reports/new-name.txt';
    const newPath = `/buckets/${tenant}/${newKey}`;
    await p.putObject(tenant, newKey, body, 'text/plain');
    // A rename in S3 is a copy and a delete; the event comes after both.
    await p.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: 'uploads/old-name.txt' }));
    await p.publish({ event_type: 'rename', old_path: created.path, new_path: newPath });
    const renamed = await resultOf(await startedFor('rename', newPath));
    const newFileId = fileIdFor(tenant, newPath);
    expect(newFileId).not.toBe(created.fileId);
    expect(renamed).toEqual({
      status: 'renamed',
      fileId: newFileId,
      fromFileId: created.fileId,
      resourcesMoved: created.chunkCount,
    });

    expect(await rowsOf(created.fileId)).toEqual({ files: 0, resources: 0 });
    expect(await rowsOf(newFileId)).toEqual({ files: 1, resources: created.chunkCount });
    const file = await p.pool.query<{ path: string; name: string; category: string; uri: string }>(
      'SELECT path, name, category, uri FROM files WHERE id = $1',
      [newFileId],
    );
    expect(file.rows).toEqual([
      { path: newPath, name: 'new-name.txt', category: 'reports', uri: `s3://${tenant}/${newKey}` },
    ]);
    const after = await p.pool.query<{ id: string; ordinal: number; content: string; name: string }>(
      'SELECT id, ordinal, content, name FROM resources WHERE file_id = $1 ORDER BY ordinal',
      [newFileId],
    );
    expect(after.rows.map((r) => ({ ordinal: r.ordinal, content: r.content }))).toEqual(before.rows);
    for (const row of after.rows) {
      expect(row.id).toBe(resourceIdFor(newFileId, row.ordinal));
      // The original P8FS's chunk names follow the new path's stem.
      expect(row.name).toBe(`new-name_chunk_${row.ordinal}`);
    }
    const tenantFiles = await p.pool.query('SELECT id FROM files WHERE tenant_id = $1', [tenant]);
    expect(tenantFiles.rows).toEqual([{ id: newFileId }]);
  });
});
