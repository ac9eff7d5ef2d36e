/**
 * Hostile storage events against the real test stack (Temporal, NATS JetStream, SeaweedFS S3,
 * PostgreSQL): reserved and foreign buckets, values Temporal refuses, two saves in one second, event
 * types that name Object.prototype members, and floods of ignored events. Every hostile input is made
 * here; each case asserts what the bridge did (started, dead-lettered with which reason, ignored and
 * counted), that it settled within seconds, and that Temporal was never taken for down.
 */
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bridge, type BridgeCounters } from '../../src/bridge/bridge.js';
import { classifyHeadError, classifyStartError } from '../../src/bridge/failures.js';
import {
  MAX_KEYWORD_BYTES,
  type PlannedStart,
  type RouteResult,
  startPlanned,
} from '../../src/bridge/route-event.js';
import { headObject } from '../../src/clients/object-store.js';
import { createS3Client } from '../../src/clients/s3.js';
import { fileIdFor } from '../../src/domain/ids.js';
import type { IngestFileInput } from '../../src/domain/ingest.js';
import type { StorageEvent } from '../../src/domain/storage-event.js';
import type { DeadLetter } from '../../src/events/dead-letter.js';
import { SearchAttributes } from '../../src/temporal/search-attributes.js';
import { ingestFileHandle, startIngestFile } from '../../src/temporal/starts.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { uniqueTenant } from '../support/test-stack.js';

/** A routed message as the bridge reported it, with when it was settled. */
interface Settled {
  result: RouteResult;
  seq: number;
  at: number;
}

interface LogLine {
  level: number;
  msg: string;
  category?: string;
  reason?: string;
  suppressed?: number;
}

const IGNORED_LOG_INTERVAL_MS = 1000;
/** "Settled within seconds": from publish to ack or dead letter. */
const SETTLE_MS = 5000;

let p: Pipeline;
let bridge: Bridge;
const settled: Settled[] = [];
const logLines: LogLine[] = [];

beforeAll(async () => {
  p = await createPipeline('harden', {
    P8FS_CHUNK_TOKENS: '80',
    P8FS_CHUNK_OVERLAP_TOKENS: '10',
  });
  // The bridge of this file logs at info into memory, so the ignored-event lines can be read back.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim()) logLines.push(JSON.parse(line) as LogLine);
      }
      callback();
    },
  });
  bridge = await Bridge.create(p.cfg, pino({ level: 'info' }, sink), {
    ignoredLogIntervalMs: IGNORED_LOG_INTERVAL_MS,
  });
  bridge.onResult = (result, msg) => {
    settled.push({ result, seq: msg.seq, at: Date.now() });
    p.results.push(result);
  };
  bridge.start();
  p.bridge = bridge;
});

afterAll(async () => {
  await p?.close();
});

function counters(): BridgeCounters {
  return { ...bridge.counters };
}

function delta(before: BridgeCounters): Partial<BridgeCounters> {
  const now = counters();
  const out: Partial<BridgeCounters> = {};
  for (const key of Object.keys(now) as (keyof BridgeCounters)[]) {
    if (now[key] !== before[key]) out[key] = now[key] - before[key];
  }
  return out;
}

async function ensureWorkers(): Promise<void> {
  if (!p.workers) await p.startWorkers();
}

/** Publishes and returns the sequence and the time of publishing. */
async function publish(event: unknown): Promise<{ seq: number; at: number }> {
  const at = Date.now();
  return { seq: await p.publish(event), at };
}

async function settledOf(seq: number, timeoutMs = 30_000): Promise<Settled> {
  return eventually(
    `stream message ${seq} to be settled`,
    async () => settled.find((s) => s.seq === seq),
    timeoutMs,
  );
}

async function lettersFor(seq: number): Promise<DeadLetter[]> {
  return (await p.deadLetters()).filter((letter) => letter.streamSequence === seq);
}

/** Waits for the message's dead letter; asserts there is exactly one and that it came within SETTLE_MS. */
async function deadLetterOf(published: { seq: number; at: number }): Promise<DeadLetter> {
  const done = await settledOf(published.seq);
  expect(done.result.kind, JSON.stringify(done.result)).toBe('rejected');
  expect(done.at - published.at).toBeLessThan(SETTLE_MS);
  const letters = await eventually(`the dead letter of message ${published.seq}`, async () => {
    const found = await lettersFor(published.seq);
    return found.length > 0 ? found : undefined;
  });
  expect(letters).toHaveLength(1);
  const letter = letters[0] as DeadLetter;
  expect(letter.deliveryCount).toBe(1);
  return letter;
}

function text(seed: string, bytes: number): string {
  const sentence = `The ${seed} file says exactly what the ${seed} version holds, no more and no less. `;
  return sentence.repeat(Math.ceil(bytes / sentence.length)).slice(0, bytes);
}

describe('hostile storage events through the real bridge (real servers: Temporal, NATS JetStream, SeaweedFS, PostgreSQL)', () => {
  it('two saves within the same second carrying the same mtime are two versions: two workflows, rows end with v2 (real servers)', async () => {
    // No workers while both events are routed: both runs then read the object as it finally is (v2), so
    // the rows do not depend on which run finishes last.
    await p.stopWorkers();
    const tenant = uniqueTenant('version');
    const key = 'uploads/notes.txt';
    const path = `/buckets/${tenant}/${key}`;
    // Same length, same mtime: only the bytes differ.
    const v1 = text('first', 900);
    const v2 = text('second', 900);
    // Start at the top of a second, so both uploads usually share S3's Last-Modified second too.
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000)));
    const mtime = Math.floor(Date.now() / 1000);
    const before = counters();

    await p.putObject(tenant, key, v1, 'text/plain');
    const head1 = await headObject(p.s3, tenant, key);
    const first = await publish({ event_type: 'update', path, size: v1.length, mtime });
    const r1 = (await settledOf(first.seq)).result;
    expect(r1.kind).toBe('started');

    await p.putObject(tenant, key, v2, 'text/plain');
    const head2 = await headObject(p.s3, tenant, key);
    expect(head2?.etag).not.toBe(head1?.etag);
    const sameSecond = head1?.lastModified?.getTime() === head2?.lastModified?.getTime();
    console.log(
      `[hardening] v1 Last-Modified ${head1?.lastModified?.toISOString()}, v2 ${head2?.lastModified?.toISOString()}` +
        ` (${sameSecond ? 'the same second' : 'crossed a second'}; event mtime ${mtime} for both)`,
    );
    const second = await publish({ event_type: 'update', path, size: v2.length, mtime });
    const r2 = (await settledOf(second.seq)).result;
    expect(r2.kind, JSON.stringify(r2)).toBe('started');
    if (r1.kind !== 'started' || r2.kind !== 'started') return;
    expect(r2.workflowId).not.toBe(r1.workflowId);
    expect(r1.event.version).toContain(head1?.etag);
    expect(r2.event.version).toContain(head2?.etag);
    expect(delta(before)).toMatchObject({ started: 2 });
    expect(delta(before).deduplicated).toBeUndefined();

    await ensureWorkers();
    for (const r of [r1, r2]) {
      const outcome = await ingestFileHandle(p.temporal, r.workflowId).result();
      expect(outcome.status).toBe('completed');
    }
    const fileId = fileIdFor(tenant, path);
    const { rows } = await p.pool.query<{ content: string }>(
      'SELECT content FROM resources WHERE file_id = $1 ORDER BY ordinal',
      [fileId],
    );
    const stored = rows.map((r) => r.content).join(' ');
    expect(stored).toContain('second version');
    expect(stored).not.toContain('first version');
    const jobs = await p.pool.query<{ workflow_id: string }>(
      'SELECT workflow_id FROM jobs WHERE tenant_id = $1 ORDER BY workflow_id',
      [tenant],
    );
    expect(jobs.rows.map((r) => r.workflow_id).sort()).toEqual([r1.workflowId, r2.workflowId].sort());
  });

  it('events under the derived-data bucket or any p8fs- bucket are dead-lettered naming the bucket, and start nothing (real servers)', async () => {
    const derived = p.cfg.s3.derivedBucket;
    const victim = uniqueTenant('victim');
    // The derived object exists, so only the reserved-bucket rule stands between the event and a workflow.
    const derivedKey = `${victim}/${fileIdFor(victim, `/buckets/${victim}/uploads/a.txt`)}/v1/extracted.json`;
    await p.putObject(derived, derivedKey, '{"text":"derived"}', 'application/json');
    const before = counters();

    const create = await publish({ event_type: 'create', path: `/buckets/${derived}/${derivedKey}` });
    const del = await publish({ event_type: 'delete', bucket: derived, key: derivedKey });
    const prefixed = await publish({ event_type: 'delete', path: '/buckets/p8fs-anything/t/x.txt' });

    for (const published of [create, del]) {
      const letter = await deadLetterOf(published);
      expect(letter.reason).toContain(`reserved bucket ${JSON.stringify(derived)}, which is not a tenant`);
    }
    expect((await deadLetterOf(prefixed)).reason).toMatch(/reserved bucket "p8fs-anything".*"p8fs-"/);
    expect(delta(before)).toEqual({ received: 3, deadLettered: 3 });
    expect(bridge.counters.temporalPauses).toBe(0);
    // The derived object is untouched.
    expect(await headObject(p.s3, derived, derivedKey)).toBeDefined();
  });

  it("an event of tenant A cannot reach tenant B's objects: renames across tenants and path games are dead-lettered (real servers)", async () => {
    await ensureWorkers();
    const a = uniqueTenant('tenanta');
    const b = uniqueTenant('tenantb');
    const secretKey = 'uploads/secret.txt';
    const secretPath = `/buckets/${b}/${secretKey}`;
    const secret = text('secret', 1200);
    await p.putObject(b, secretKey, secret, 'text/plain');
    const ingested = await publish({ event_type: 'create', path: secretPath });
    const createdB = (await settledOf(ingested.seq)).result;
    expect(createdB.kind).toBe('started');
    if (createdB.kind !== 'started') return;
    const outcome = await ingestFileHandle(p.temporal, createdB.workflowId).result();
    expect(outcome.status).toBe('completed');
    const bFileId = fileIdFor(b, secretPath);
    const bRows = async () =>
      (
        await p.pool.query<{ path: string; tenant_id: string; resources: number }>(
          `SELECT f.path, f.tenant_id, (SELECT count(*)::int FROM resources r WHERE r.file_id = f.id) AS resources
             FROM files f WHERE f.id = $1`,
          [bFileId],
        )
      ).rows;
    const rowsBefore = await bRows();
    expect(rowsBefore).toHaveLength(1);
    // A's own bucket holds an object at the target path, so a HEAD there would succeed.
    await p.putObject(a, 'uploads/stolen.txt', secret, 'text/plain');
    const before = counters();

    const attempts: [string, unknown, RegExp][] = [
      [
        'rename old_path in B to a path in A',
        { event_type: 'rename', old_path: secretPath, new_path: `/buckets/${a}/uploads/stolen.txt` },
        /^rename across tenants: old_path .* is in bucket ".*" but new_path .* is in bucket ".*"; a rename must stay inside one bucket$/,
      ],
      [
        'rename with A as bucket and an absolute old_key in B',
        { event_type: 'move', bucket: a, old_key: secretPath, new_key: 'uploads/stolen.txt' },
        /^rename across tenants: /,
      ],
      [
        'from/to across tenants',
        { type: 'moved', from: secretPath, to: `/buckets/${a}/uploads/stolen.txt` },
        /^rename across tenants: /,
      ],
      [
        '"..": out of A into B',
        { event_type: 'delete', path: `/buckets/${a}/../${b}/${secretKey}` },
        /escapes its bucket: ".." segment/,
      ],
      [
        'a key of A climbing into B',
        { event_type: 'delete', bucket: a, key: `../${b}/${secretKey}` },
        /escapes its bucket/,
      ],
      [
        'percent-encoded ".."',
        { event_type: 'create', path: `/buckets/${a}/%2e%2e/${b}/${secretKey}` },
        /percent-encoded "\.\." segment/,
      ],
      [
        'bucket field A, path in B',
        { event_type: 'delete', bucket: a, path: secretPath },
        /does not match the bucket/,
      ],
    ];
    const published = [];
    for (const [what, event, reason] of attempts) published.push({ what, reason, ...(await publish(event)) });
    for (const attempt of published) {
      const letter = await deadLetterOf(attempt);
      expect(letter.reason, attempt.what).toMatch(attempt.reason);
    }
    expect(delta(before)).toEqual({ received: attempts.length, deadLettered: attempts.length });
    // B's file is exactly as it was, and nothing was started in A.
    expect(await bRows()).toEqual(rowsBefore);
    expect(settled.some((s) => s.result.kind === 'started' && s.result.event.tenantId === a)).toBe(false);
  });

  it('constructor, __proto__, toString and hasOwnProperty as event types: one dead letter each, no workflow (real servers)', async () => {
    const tenant = uniqueTenant('proto');
    const key = 'uploads/proto.txt';
    await p.putObject(tenant, key, text('proto', 400), 'text/plain');
    const path = `/buckets/${tenant}/${key}`;
    const before = counters();
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
    const fields = ['event_type', 'operation', 'type'];
    const published = [];
    for (const [i, name] of names.entries()) {
      const field = fields[i % fields.length] as string;
      published.push({ name, field, ...(await publish({ [field]: name, path })) });
    }
    for (const attempt of published) {
      const letter = await deadLetterOf(attempt);
      expect(letter.reason).toMatch(
        new RegExp(`^unknown event type "${attempt.name}" in ${attempt.field}; expected`),
      );
    }
    expect(delta(before)).toEqual({ received: names.length, deadLettered: names.length });
    expect(settled.some((s) => s.result.kind === 'started' && s.result.event.tenantId === tenant)).toBe(
      false,
    );
    expect(
      (await p.temporal.workflow.count(`TenantId = '${tenant}'`)).count,
      'Temporal knows no workflow of the tenant',
    ).toBe(0);
  });

  it('an object with a 2 KB content type starts at once with a bounded MimeType; no pause (real servers)', async () => {
    await ensureWorkers();
    const tenant = uniqueTenant('longtype');
    const key = 'uploads/long-type.txt';
    const contentType = `text/plain; note=${'x'.repeat(2048)}`;
    await p.putObject(tenant, key, text('typed', 600), contentType);
    expect((await headObject(p.s3, tenant, key))?.contentType).toHaveLength(contentType.length);
    const garbageKey = 'uploads/garbage-type.txt';
    await p.putObject(tenant, garbageKey, text('garbage', 600), `application/${'y'.repeat(2048)}`);
    const before = counters();

    const typed = await publish({ event_type: 'create', path: `/buckets/${tenant}/${key}` });
    const garbage = await publish({ event_type: 'create', path: `/buckets/${tenant}/${garbageKey}` });
    const results = [];
    for (const published of [typed, garbage]) {
      const done = await settledOf(published.seq);
      expect(done.result.kind, JSON.stringify(done.result)).toBe('started');
      expect(done.at - published.at).toBeLessThan(SETTLE_MS);
      results.push(done.result);
    }
    const [first, second] = results;
    if (first?.kind !== 'started' || second?.kind !== 'started') return;
    const typedHandle = ingestFileHandle(p.temporal, first.workflowId);
    const description = await typedHandle.describe();
    expect(description.typedSearchAttributes.get(SearchAttributes.MimeType)).toBe('text/plain');
    const garbageDescription = await ingestFileHandle(p.temporal, second.workflowId).describe();
    expect(garbageDescription.typedSearchAttributes.get(SearchAttributes.MimeType)).toBeUndefined();
    expect((await typedHandle.result()).status).toBe('completed');
    // The files row keeps the bounded type too, never the 2 KB the uploader stored.
    const stored = await p.pool.query<{ mime_type: string | null }>(
      'SELECT mime_type FROM files WHERE tenant_id = $1 AND uri LIKE $2',
      [tenant, '%long-type.txt'],
    );
    expect(stored.rows[0]?.mime_type).toBe('text/plain');
    expect(delta(before)).toEqual({ received: 2, started: 2 });
    expect(bridge.counters.temporalPauses).toBe(0);
    expect(bridge.temporalAvailable).toBe(true);
  });

  it('a 2 KB mime type, an unpaired surrogate in the path or a key S3 cannot put in a URI are dead-lettered within seconds; no pause, no retry (real servers)', async () => {
    const tenant = uniqueTenant('garbage');
    await p.putObject(tenant, 'uploads/present.txt', text('present', 300), 'text/plain');
    const before = counters();
    const longMime = await publish({
      event_type: 'create',
      path: `/buckets/${tenant}/uploads/present.txt`,
      mime_type: `text/plain; note=${'z'.repeat(2048)}`,
    });
    // JSON "\ud800": half a character. As a workflow id it is invalid UTF-8 to Temporal; as a key the
    // AWS SDK throws "URI malformed".
    const surrogate = await publish(
      `{"event_type":"create","path":"/buckets/${tenant}/uploads/a\\ud800b.txt"}`,
    );
    const surrogateDelete = await publish(
      `{"event_type":"delete","path":"/buckets/${tenant}/uploads/\\udc00.txt"}`,
    );

    expect((await deadLetterOf(longMime)).reason).toMatch(
      /^mime type field mime_type is 2065 characters long; at most 255 allowed$/,
    );
    for (const published of [surrogate, surrogateDelete]) {
      expect((await deadLetterOf(published)).reason).toMatch(
        /unpaired surrogate \(U\+D[8C]00\), which is not valid UTF-8/,
      );
    }
    expect(delta(before)).toEqual({ received: 3, deadLettered: 3 });
    expect(bridge.counters.temporalPauses).toBe(0);
    expect(bridge.counters.retried).toBe(0);
  });

  it('50 directory events: counted as ignored by category, logged at info in at most a few lines naming the reason and the count (real servers)', async () => {
    const tenant = uniqueTenant('dirs');
    const before = counters();
    const linesBefore = logLines.length;
    const count = 50;
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        p.publish(
          i % 2 === 0
            ? { event_type: 'create', path: `/buckets/${tenant}/folder-${i}/` }
            : { event_type: 'create', path: `/buckets/${tenant}/folder-${i}`, is_directory: true },
        ),
      ),
    );
    await eventually('the bridge to ignore all 50 directory events', async () =>
      bridge.counters.ignoredDirectory - before.ignoredDirectory >= count ? true : undefined,
    );
    expect(delta(before)).toEqual({ received: count, ignored: count, ignoredDirectory: count });

    // Within one interval the suppressed ones are reported in one summary line.
    const lines = await eventually(
      'the summary line of the suppressed directory events',
      async () => {
        const mine = logLines.slice(linesBefore).filter((l) => l.category === 'directory');
        const reported = mine.reduce((sum, l) => sum + (l.suppressed ?? 1), 0);
        return reported >= count ? mine : undefined;
      },
      10 * IGNORED_LOG_INTERVAL_MS,
    );
    console.log(
      `[hardening] ${count} ignored directory events → ${lines.length} log lines:\n${lines.map((l) => `  ${l.msg.slice(0, 160)}`).join('\n')}`,
    );
    expect(lines.length).toBeLessThanOrEqual(4);
    for (const line of lines) {
      expect(line.level).toBe(30); // info
      expect(line.reason).toMatch(new RegExp(`^path "/buckets/${tenant}/folder-\\d+/?" is a directory`));
      expect(line.msg).toContain('ignored (directory)');
    }
    const summary = lines.find((l) => (l.suppressed ?? 0) > 0);
    expect(summary?.msg).toMatch(/^\d+ more events ignored \(directory\) in the last \d+ s; latest: /);
    expect(lines.reduce((sum, l) => sum + (l.suppressed ?? 1), 0)).toBe(count);
    expect(bridge.counters.deadLettered - before.deadLettered).toBe(0);
  });
});

describe('start and HEAD failures classified from real server errors (real servers: Temporal, SeaweedFS)', () => {
  function input(tenant: string, overrides: Partial<StorageEvent> = {}): IngestFileInput {
    const event: StorageEvent = {
      type: 'create',
      path: `/buckets/${tenant}/uploads/never.txt`,
      bucket: tenant,
      key: 'uploads/never.txt',
      tenantId: tenant,
      category: 'uploads',
      fileName: 'never.txt',
      ...overrides,
    };
    return { event, tier: 'small', version: 'v1', source: 'classifier-test' };
  }
  /** A queue no worker polls: a start that succeeds here is terminated by the test. */
  const idleQueue = () => `${p.cfg.temporal.taskQueuePrefix}-nobody`;

  async function startError(options: {
    workflowId: string;
    attributes?: Parameters<typeof startIngestFile>[2]['typedSearchAttributes'];
    client?: Client;
    deadlineMs?: number;
  }): Promise<unknown> {
    const client = options.client ?? p.temporal;
    try {
      const handle = await client.withDeadline(Date.now() + (options.deadlineMs ?? 5000), () =>
        startIngestFile(client, input(uniqueTenant('cls')), {
          taskQueue: idleQueue(),
          workflowId: options.workflowId,
          typedSearchAttributes: options.attributes,
        }),
      );
      await handle.terminate('classifier test');
      return undefined;
    } catch (error) {
      return error;
    }
  }

  it('Temporal: a search attribute over 2 KB, an invalid-UTF-8 id and a too-long id are permanent; the server message is kept', async () => {
    const tooLarge = await startError({
      workflowId: `cls-${uniqueTenant('sa')}`,
      attributes: [{ key: SearchAttributes.MimeType, value: 'x'.repeat(2048) }],
    });
    expect(classifyStartError(tooLarge)).toEqual({
      kind: 'permanent',
      message: expect.stringMatching(
        /^INVALID_ARGUMENT: search attribute MimeType value size \d+ exceeds size limit \d+$/,
      ),
    });
    const badUtf8 = await startError({ workflowId: `cls-\ud800-${uniqueTenant('utf')}` });
    expect(classifyStartError(badUtf8)).toEqual({
      kind: 'permanent',
      message: expect.stringMatching(/^INTERNAL: grpc: error unmarshalling request: .*invalid UTF-8/),
    });
    const tooLong = await startError({ workflowId: `cls-${'x'.repeat(2000)}` });
    expect(classifyStartError(tooLong)).toEqual({
      kind: 'permanent',
      message: expect.stringMatching(/^INVALID_ARGUMENT: WorkflowId exceeds maximum allowed length/),
    });
  });

  it('Temporal: unreachable, past the deadline or an unknown namespace is "unavailable" (pause), not a dead letter', async () => {
    const port = await freePort();
    const nowhere = new Client({
      connection: Connection.lazy({ address: `127.0.0.1:${port}`, connectTimeout: 1000 }),
      namespace: p.cfg.temporal.namespace,
    });
    const unreachable = await startError({
      workflowId: `cls-${uniqueTenant('down')}`,
      client: nowhere,
      deadlineMs: 2000,
    });
    expect(unreachable).toBeDefined();
    expect(classifyStartError(unreachable)).toEqual({
      kind: 'unavailable',
      message: expect.stringMatching(/^(UNAVAILABLE|DEADLINE_EXCEEDED): /),
    });
    await nowhere.connection.close().catch(() => undefined);

    const noNamespace = new Client({
      connection: p.temporal.connection,
      namespace: 'p8fs-no-such-namespace',
    });
    const missing = await startError({ workflowId: `cls-${uniqueTenant('ns')}`, client: noNamespace });
    expect(missing).toBeDefined();
    expect(classifyStartError(missing).kind).toBe('unavailable');
    // The client checks options before sending: a missing task queue is a TypeError, permanent.
    let typeError: unknown;
    try {
      await startIngestFile(p.temporal, input('t'), { taskQueue: '', workflowId: 'cls-no-queue' });
    } catch (error) {
      typeError = error;
    }
    expect(classifyStartError(typeError)).toEqual({
      kind: 'permanent',
      message: expect.stringMatching(/^TypeError: /),
    });
  });

  it('startPlanned: a permanent rejection is a dead letter with the server message; an over-long file name is cut and starts', async () => {
    const tenant = uniqueTenant('plan');
    const deps = { cfg: p.cfg, s3: p.s3, temporal: p.temporal };
    const base = input(tenant);
    const plan = (event: StorageEvent, workflowId: string): PlannedStart => ({
      kind: 'planned',
      event,
      tier: 'small',
      workflowId,
      taskQueue: idleQueue(),
      input: { ...base, event },
    });
    const rejected = await startPlanned(deps, plan(base.event, `ingest-create/${tenant}/a\udfff@v1`));
    expect(rejected).toEqual({
      kind: 'rejected',
      reason: expect.stringMatching(/rejected the start of .*: INTERNAL: grpc: error unmarshalling request/),
      rejection: 'start_rejected',
    });

    // 1 500 two-byte characters: 3 000 bytes, over Temporal's 2 KB per value. Cut at a character boundary.
    const fileName = `${'é'.repeat(1500)}.txt`;
    const wide = { ...base.event, fileName, key: `u/${fileName}`, path: `/buckets/${tenant}/u/${fileName}` };
    const t0 = Date.now();
    const started = await startPlanned(deps, plan(wide, `ingest-create/${tenant}/wide-name@v1`));
    expect(started.kind, JSON.stringify(started)).toBe('started');
    expect(Date.now() - t0).toBeLessThan(SETTLE_MS);
    const handle = ingestFileHandle(p.temporal, `ingest-create/${tenant}/wide-name@v1`);
    const stored = (await handle.describe()).typedSearchAttributes.get(SearchAttributes.FileName) ?? '';
    expect(Buffer.byteLength(stored, 'utf8')).toBeLessThanOrEqual(MAX_KEYWORD_BYTES);
    expect(stored).toBe('é'.repeat(MAX_KEYWORD_BYTES / 2));
    await handle.terminate('classifier test');
    // The same start again is a duplicate, not an error.
    expect((await startPlanned(deps, plan(wide, `ingest-create/${tenant}/wide-name@v1`))).kind).toBe(
      'deduplicated',
    );
  });

  it('S3: a key the SDK cannot put in a URI and 4xx answers are permanent; refused connections, 403 and 5xx are transient', async () => {
    const tenant = uniqueTenant('head');
    const key = 'uploads/head.txt';
    await p.putObject(tenant, key, 'hello', 'text/plain');
    const headError = async (s3 = p.s3, extra: Record<string, unknown> = {}, k = key, bucket = tenant) => {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: k, ...extra }));
        return undefined;
      } catch (error) {
        return error;
      }
    };

    const uri = await headError(p.s3, {}, 'uploads/a\ud800b.txt');
    expect(classifyHeadError(uri)).toEqual({ kind: 'permanent', message: 'URIError: URI malformed' });
    expect(classifyHeadError(await headError(p.s3, { IfMatch: '"not-the-etag"' }))).toEqual({
      kind: 'permanent',
      message: 'HTTP 412 Precondition Failed',
    });
    expect(classifyHeadError(await headError(p.s3, { PartNumber: 99 }))).toEqual({
      kind: 'permanent',
      message: 'HTTP 416 Range Not Satisfiable',
    });

    const closed = createS3Client(
      { ...p.cfg, s3: { ...p.cfg.s3, endpoint: `http://127.0.0.1:${await freePort()}` } },
      { maxAttempts: 1 },
    );
    expect(classifyHeadError(await headError(closed))).toEqual({
      kind: 'transient',
      message: expect.stringMatching(/ECONNREFUSED/),
    });
    closed.destroy();

    const wrongSecret = createS3Client(
      { ...p.cfg, s3: { ...p.cfg.s3, secretAccessKey: 'not-the-secret' } },
      { maxAttempts: 1 },
    );
    const denied = await headError(wrongSecret);
    expect((denied as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(403);
    expect(classifyHeadError(denied)).toEqual({
      kind: 'transient',
      message: expect.stringMatching(/^HTTP 403 Forbidden/),
    });
    wrongSecret.destroy();

    const unavailable: Server = createServer((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    await new Promise<void>((resolve) => unavailable.listen(0, '127.0.0.1', resolve));
    const address = unavailable.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const flaky = createS3Client(
      { ...p.cfg, s3: { ...p.cfg.s3, endpoint: `http://127.0.0.1:${port}` } },
      { maxAttempts: 1 },
    );
    expect(classifyHeadError(await headError(flaky))).toEqual({
      kind: 'transient',
      message: expect.stringMatching(/^HTTP 503 Service Unavailable/),
    });
    flaky.destroy();
    await new Promise((resolve) => unavailable.close(resolve));
  });
});
