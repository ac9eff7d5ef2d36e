/**
 * The HTTP API (`p8fs api`, src/api) over real HTTP, on the real test stack: the API server listens on a
 * free port, with a bridge and small-tier workers behind it, and two tenants with their own keys.
 * - no key, an unknown or a revoked key → 401 problem details; tenant A's key on B's files, batches,
 *   workflows and search → 403/404 and nothing of B's;
 * - a file uploaded through the API (with a Content-Length, and chunked) is ingested to `completed`;
 * - a resumable upload of 12 MiB in 5 MiB parts becomes one object, is ingested, and its presigned URL
 *   downloads the same bytes;
 * - the OpenAPI document lists every route; /docs serves Swagger UI; /v1/stats answers.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortStaleUploads } from '../../src/activities/housekeeping/multipart-uploads.js';
import { createApiKey, revokeApiKey } from '../../src/api/keys.js';
import { type RunningApi, startApi } from '../../src/api/process.js';
import { headObject } from '../../src/clients/object-store.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { createPipeline, dropBucket, eventually, type Pipeline } from '../support/pipeline.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const tenantA = uniqueTenant('apia');
const tenantB = uniqueTenant('apib');
const MiB = 1024 * 1024;
const env = isolatedEnv('api');

let p: Pipeline;
let api: RunningApi;
let keyA: string;
let keyB: string;
const workflowsToEnd: string[] = [];

beforeAll(async () => {
  p = await createPipeline('api', {}, env);
  await p.startBridge();
  await p.startWorkers(['small']);
  api = await startApi(p.cfg, { port: 0, host: '127.0.0.1' });
  keyA = (await createApiKey(p.pool, tenantA, 'api test A')).key;
  keyB = (await createApiKey(p.pool, tenantB, 'api test B')).key;
}, 90_000);

afterAll(async () => {
  for (const id of workflowsToEnd)
    await p?.temporal.workflow
      .getHandle(id)
      .terminate('api test done')
      .catch(() => undefined);
  await api?.close();
  if (p) {
    for (const bucket of [tenantA, tenantB]) await dropBucket(p.s3, bucket).catch(() => undefined);
    await p.close();
  }
});

interface Answer {
  status: number;
  type: string;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(
  method: string,
  path: string,
  options: {
    key?: string;
    body?: unknown;
    raw?: RequestInit['body'];
    contentType?: string;
    redirect?: boolean;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: RequestInit['body'] | undefined;
  if (options.raw !== undefined) {
    body = options.raw;
    if (options.contentType) headers['content-type'] = options.contentType;
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers,
    body,
    redirect: options.redirect === false ? 'manual' : 'follow',
    // A stream body goes out chunked (no Content-Length).
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text };
  }
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: parsed,
    headers: response.headers,
  };
}

function expectProblem(answer: Answer, status: number): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.type).toContain('application/problem+json');
  expect(answer.body.status).toBe(status);
  expect(typeof answer.body.type).toBe('string');
  expect(typeof answer.body.title).toBe('string');
  expect(String(answer.body.detail).length).toBeGreaterThan(5);
}

async function fileCompleted(key: string, fileId: string): Promise<Record<string, unknown>> {
  return eventually(
    `file ${fileId} completed`,
    async () => {
      const answer = await call('GET', `/v1/files/${fileId}`, { key });
      if (answer.status === 200 && answer.body.status === 'failed')
        throw new Error(`file failed: ${String(answer.body.error)}`);
      return answer.status === 200 && answer.body.status === 'completed' ? answer.body : undefined;
    },
    40_000,
  );
}

const uploaded: Record<string, Record<string, unknown>> = {};

describe('p8fs api: authentication', () => {
  it('no key, a malformed, unknown or revoked key → 401 problem details; /health needs none', async () => {
    const health = await call('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');

    const none = await call('GET', '/v1/files');
    expectProblem(none, 401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expectProblem(await call('GET', '/v1/files', { key: 'not-a-key' }), 401);
    expectProblem(await call('GET', '/v1/stats', { key: `p8fs_abcdefgh_${'x'.repeat(43)}` }), 401);
    expectProblem(
      await call('POST', `/v1/files/${tenantA}?name=a.txt`, { raw: 'hello', contentType: 'text/plain' }),
      401,
    );

    const doomed = await createApiKey(p.pool, tenantA, 'revoked at once');
    expect((await call('GET', '/v1/files', { key: doomed.key })).status).toBe(200);
    expect(await revokeApiKey(p.pool, doomed.id)).toHaveLength(1);
    expectProblem(await call('GET', '/v1/files', { key: doomed.key }), 401);
    // The other header works too.
    const viaHeader = await fetch(`${api.url}/v1/files`, { headers: { 'x-api-key': keyA } });
    expect(viaHeader.status).toBe(200);
  });

  it('p8fs apikey create prints a key once (stored hashed), list shows its prefix, revoke refuses it', async () => {
    const created = await runCliInProcess(['apikey', 'create', '--tenant', tenantB, '--name', 'cli'], env);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^p8fs_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('shown once');
    const stored = await p.pool.query<{ key_hash: string }>(
      'SELECT key_hash FROM api_keys WHERE tenant_id = $1',
      [tenantB],
    );
    expect(stored.rows.map((r) => r.key_hash)).not.toContain(key);
    expect((await call('GET', '/v1/files', { key })).status).toBe(200);
    const listed = await runCliInProcess(['apikey', 'list', '--tenant', tenantB], env);
    expect(listed.stdout).toContain(key.slice(0, 13));
    expect(listed.stdout).not.toContain(key);
    const revoked = await runCliInProcess(['apikey', 'revoke', key.slice(0, 13)], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expectProblem(await call('GET', '/v1/files', { key }), 401);
    const again = await runCliInProcess(['apikey', 'revoke', key.slice(0, 13)], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no active key');
  });

  it('an unknown route and a bad query are problem details too', async () => {
    expectProblem(await call('GET', '/v2/nothing', { key: keyA }), 404);
    expectProblem(
      await call('POST', `/v1/files/${tenantA}?name=form.txt`, {
        key: keyA,
        raw: '--x\r\n\r\nhello\r\n--x--',
        contentType: 'multipart/form-data; boundary=x',
      }),
      415,
    );
    const bad = await call('GET', '/v1/files?limit=0', { key: keyA });
    expectProblem(bad, 400);
    expect(Array.isArray(bad.body.errors)).toBe(true);
  });
});

describe('p8fs api: uploads and files', () => {
  it('uploads a file (Content-Length: one streamed PutObject) and it is ingested to completed', async () => {
    const bytes = await readFile(join(SAMPLES_DIR, 'content/Sample.md'));
    const answer = await call('POST', `/v1/files/${tenantA}?name=Sample.md`, { key: keyA, raw: bytes });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body).toMatchObject({
      tenant: tenantA,
      key: 'uploads/Sample.md',
      path: `/buckets/${tenantA}/uploads/Sample.md`,
      size: bytes.length,
      mimeType: 'text/markdown',
      eventType: 'create',
      workflowType: 'ingestFile',
    });
    uploaded.md = answer.body;
    const fileId = String(answer.body.fileId);
    const file = await fileCompleted(keyA, fileId);
    expect(Number(file.chunkCount)).toBeGreaterThan(0);
    // The workflow the answer named is the one the bridge started (the file row completes just before it).
    const run = await p.temporal.workflow.getHandle(String(answer.body.workflowId)).result();
    expect((run as { status?: string }).status).toBe('completed');
  }, 60_000);

  it('uploads a chunked body (no Content-Length: parts of bounded size) and it completes', async () => {
    const stream = Readable.toWeb(createReadStream(join(SAMPLES_DIR, 'small/sample.txt'))) as ReadableStream;
    const answer = await call('POST', `/v1/files/${tenantA}?name=notes.txt&category=notes`, {
      key: keyA,
      raw: stream,
      contentType: 'application/x-www-form-urlencoded', // curl's default for --data-binary: the name decides
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    const original = await readFile(join(SAMPLES_DIR, 'small/sample.txt'));
    expect(answer.body.size).toBe(original.length);
    expect(answer.body.key).toBe('notes/notes.txt');
    expect(answer.body.mimeType).toBe('text/plain');
    await fileCompleted(keyA, String(answer.body.fileId));
    const listed = await call('GET', '/v1/files?status=completed', { key: keyA });
    expect(listed.status).toBe(200);
    const names = (listed.body.files as { name: string; status: string }[]).map((f) => f.name).sort();
    expect(names).toEqual(['Sample.md', 'notes.txt']);
    expect(listed.body.total).toBe(2);
  }, 60_000);

  it('a resumable upload of 12 MiB in 5 MiB parts becomes one object, is ingested, and downloads the same bytes', async () => {
    const data = randomBytes(12 * MiB);
    const started = await call('POST', `/v1/uploads/${tenantA}`, {
      key: keyA,
      body: { name: 'big.bin', category: 'archive' },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const uploadId = String(started.body.uploadId);
    const base = `/v1/uploads/${tenantA}/${uploadId}`;
    const partSize = 5 * MiB;
    // Parts out of order, as a resuming client may send them.
    for (const partNumber of [2, 1, 3]) {
      const slice = data.subarray((partNumber - 1) * partSize, partNumber * partSize);
      const put = await call('PUT', `${base}/parts/${partNumber}`, { key: keyA, raw: slice });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(put.body).toMatchObject({ partNumber, size: slice.length });
    }
    // Tenant B cannot see or finish A's upload.
    expectProblem(await call('GET', `/v1/uploads/${tenantB}/${uploadId}`, { key: keyB }), 404);
    expectProblem(await call('GET', base, { key: keyB }), 403);
    const status = await call('GET', base, { key: keyA });
    expect((status.body.parts as { partNumber: number }[]).map((x) => x.partNumber)).toEqual([1, 2, 3]);
    expect(status.body.bytes).toBe(data.length);

    const done = await call('POST', `${base}/complete`, { key: keyA });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    expect(done.body).toMatchObject({ key: 'archive/big.bin', size: data.length, parts: 3 });
    // One object, merged on the server; no multipart upload left behind.
    expect((await headObject(p.s3, tenantA, 'archive/big.bin'))?.size).toBe(data.length);
    const left = await p.s3.send(new ListMultipartUploadsCommand({ Bucket: tenantA }));
    expect((left.Uploads ?? []).filter((u) => u.Key === 'archive/big.bin')).toEqual([]);
    expectProblem(await call('GET', base, { key: keyA }), 404);

    const fileId = String(done.body.fileId);
    const file = await fileCompleted(keyA, fileId);
    expect(file.size).toBe(data.length);

    const link = await call('GET', `/v1/files/${fileId}/download`, { key: keyA, redirect: false });
    expect(link.status).toBe(302);
    const location = link.headers.get('location') ?? '';
    expect(location).toContain('X-Amz-Signature=');
    const downloaded = Buffer.from(await (await fetch(location)).arrayBuffer());
    expect(downloaded.length).toBe(data.length);
    expect(createHash('sha256').update(downloaded).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
    const asJson = await call('GET', `/v1/files/${fileId}/download?redirect=false`, { key: keyA });
    expect(asJson.status).toBe(200);
    expect(String(asJson.body.url)).toContain('X-Amz-Signature=');
    uploaded.big = done.body;
  }, 60_000);

  it('a part without Content-Length is 411, an upload id that is not ours is 404, DELETE aborts', async () => {
    const started = await call('POST', `/v1/uploads/${tenantA}`, { key: keyA, body: { name: 'gone.bin' } });
    const base = `/v1/uploads/${tenantA}/${String(started.body.uploadId)}`;
    const chunked = Readable.toWeb(Readable.from([Buffer.alloc(1024)])) as ReadableStream;
    expectProblem(await call('PUT', `${base}/parts/1`, { key: keyA, raw: chunked }), 411);
    expectProblem(await call('GET', `/v1/uploads/${tenantA}/bm9wZQ`, { key: keyA }), 404);
    expect((await call('DELETE', base, { key: keyA })).status).toBe(204);
    expectProblem(await call('GET', base, { key: keyA }), 404);

    // An upload the client abandons is collected by the housekeeping schedule's activity.
    const abandoned = await call('POST', `/v1/uploads/${tenantA}`, { key: keyA, body: { name: 'left.bin' } });
    const left = `/v1/uploads/${tenantA}/${String(abandoned.body.uploadId)}`;
    expect((await call('PUT', `${left}/parts/1`, { key: keyA, raw: Buffer.alloc(1024, 7) })).status).toBe(
      200,
    );
    const collected = await abortStaleUploads(p.s3, { olderThan: new Date(), buckets: [tenantA] });
    expect(collected.examples).toContain(`${tenantA}/uploads/left.bin`);
    expectProblem(await call('GET', left, { key: keyA }), 404);
  });
});

describe("p8fs api: one tenant's key never reaches another's resources", () => {
  it("tenant B's key: 403 on A's bucket, 404 on A's files, downloads, batches and dreams, no search hits", async () => {
    const fileId = String(uploaded.md?.fileId);
    expect(fileId).toMatch(/^[0-9a-f-]{36}$/);
    expectProblem(
      await call('POST', `/v1/files/${tenantA}?name=x.txt`, {
        key: keyB,
        raw: 'x',
        contentType: 'text/plain',
      }),
      403,
    );
    expectProblem(await call('POST', `/v1/uploads/${tenantA}`, { key: keyB, body: { name: 'x.bin' } }), 403);
    expectProblem(await call('GET', `/v1/files/${fileId}`, { key: keyB }), 404);
    expectProblem(await call('GET', `/v1/files/${fileId}/download`, { key: keyB, redirect: false }), 404);
    const listedB = await call('GET', '/v1/files', { key: keyB });
    expect(listedB.body).toMatchObject({ files: [], total: 0 });

    // A batch of A's: A sees it, B gets 404.
    const batch = await call('POST', '/v1/batches', { key: keyA, body: { keys: ['uploads/Sample.md'] } });
    expect(batch.status, JSON.stringify(batch.body)).toBe(202);
    workflowsToEnd.push(String(batch.body.workflowId));
    const batchId = String(batch.body.batchId);
    const own = await call('GET', `/v1/batches/${batchId}`, { key: keyA });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect((own.body.batch as { tenantId: string }).tenantId).toBe(tenantA);
    expectProblem(await call('GET', `/v1/batches/${batchId}`, { key: keyB }), 404);
    expectProblem(await call('GET', `/v1/batches/${randomUUID()}`, { key: keyA }), 404);
    expectProblem(
      await call('POST', '/v1/batches', { key: keyA, body: { zip: 'a.zip', prefix: 'x/' } }),
      400,
    );

    // Search: A finds its chunks, B nothing of A's.
    const hitsA = await call('GET', `/v1/search?q=${encodeURIComponent('distributed content management')}`, {
      key: keyA,
    });
    expect(hitsA.status, JSON.stringify(hitsA.body)).toBe(200);
    expect(Number(hitsA.body.total)).toBeGreaterThan(0);
    expect((hitsA.body.hits as { fileName: string }[])[0]?.fileName).toBe('Sample.md');
    const hitsB = await call('GET', `/v1/search?q=${encodeURIComponent('distributed content management')}`, {
      key: keyB,
    });
    expect(hitsB.status).toBe(200);
    expect(hitsB.body.total).toBe(0);
    expect(hitsB.body.hits).toEqual([]);

    // A dream analysis of A's (no LLM worker here: it waits on the queue) is not B's to read.
    const dream = await call('POST', '/v1/dreams', { key: keyA, body: { mode: 'direct' } });
    expect(dream.status, JSON.stringify(dream.body)).toBe(202);
    const dreamId = String(dream.body.workflowId);
    workflowsToEnd.push(dreamId);
    expect(dreamId.startsWith(`dream/${tenantA}/`)).toBe(true);
    const dreamA = await call('GET', `/v1/dreams/${encodeURIComponent(dreamId)}`, { key: keyA });
    expect(dreamA.body.status).toBe('RUNNING');
    expect(dreamA.body.dream).toBeNull();
    // A dream stored for that run by an earlier release (its field names) is served in the seeds' shape.
    const jobId = randomUUID();
    await p.pool.query(
      `INSERT INTO jobs (id, tenant_id, job_type, status, workflow_id) VALUES ($1, $2, 'dream_analysis', 'completed', $3)`,
      [jobId, tenantA, dreamId],
    );
    const oldModel = {
      user_id: tenantA,
      analysis_id: jobId,
      generated_by: 'heuristic',
      executive_summary: '[heuristic] old row',
      goals: [{ title: 'Ship', description: 'Ship it', target_date: null, priority: 'high', source: 'a.md' }],
      metrics: { sessions_analyzed: 0, resources_analyzed: 2, confidence: 0.3 },
    };
    await p.pool.query(`INSERT INTO dreams (id, tenant_id, job_id, model) VALUES ($1, $2, $1, $3)`, [
      jobId,
      tenantA,
      JSON.stringify(oldModel),
    ]);
    const stored = await call('GET', `/v1/dreams/${encodeURIComponent(dreamId)}`, { key: keyA });
    expect(stored.body.dream).toMatchObject({
      goals: [{ goal: 'Ship', priority: 'high', category: 'general', deadline: null }],
      metrics: { total_documents_analyzed: 2, confidence_score: 0.3 },
    });
    expectProblem(await call('GET', `/v1/dreams/${encodeURIComponent(dreamId)}`, { key: keyB }), 404);
  }, 30_000);
});

describe('p8fs api: stats and the OpenAPI document', () => {
  it('GET /v1/stats: stream backlog, DLQ depth, every task queue, running workflows, the tenant’s files', async () => {
    const stats = await call('GET', '/v1/stats', { key: keyA });
    expect(stats.status, JSON.stringify(stats.body)).toBe(200);
    expect(stats.body.events).toMatchObject({ stream: p.cfg.nats.eventsStream, deadLetters: 0, backlog: 0 });
    const queues = stats.body.taskQueues as { name: string; workflow: { pollers: number } }[];
    expect(queues.map((q) => q.name)).toEqual([
      `${p.cfg.temporal.taskQueuePrefix}-storage-small`,
      `${p.cfg.temporal.taskQueuePrefix}-storage-medium`,
      `${p.cfg.temporal.taskQueuePrefix}-storage-large`,
      `${p.cfg.temporal.taskQueuePrefix}-llm`,
    ]);
    expect(queues[0]?.workflow.pollers).toBeGreaterThan(0);
    const tenant = stats.body.tenant as {
      id: string;
      files: Record<string, number>;
      runningWorkflows: Record<string, number>;
    };
    expect(tenant.id).toBe(tenantA);
    expect(tenant.files.completed).toBe(3);
    expect(tenant.runningWorkflows.dreamAnalysis).toBe(1);
  });

  it('serves the OpenAPI document (valid JSON, every route with its responses) and Swagger UI at /docs', async () => {
    const response = await fetch(`${api.url}/docs/json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    const routes = api.app.printRoutes({ commonPrefix: false }).split('\n').filter(Boolean);
    expect(routes.length).toBeGreaterThan(0);
    const expected: Record<string, string[]> = {
      '/health': ['get'],
      '/v1/files': ['get'],
      '/v1/files/{tenant}': ['post'],
      '/v1/files/{id}': ['get'],
      '/v1/files/{id}/download': ['get'],
      '/v1/uploads/{tenant}': ['post'],
      '/v1/uploads/{tenant}/{uploadId}': ['get', 'delete'],
      '/v1/uploads/{tenant}/{uploadId}/parts/{partNumber}': ['put'],
      '/v1/uploads/{tenant}/{uploadId}/complete': ['post'],
      '/v1/stats': ['get'],
      '/v1/dreams': ['post'],
      '/v1/dreams/{workflowId}': ['get'],
      '/v1/batches': ['post'],
      '/v1/batches/{id}': ['get'],
      '/v1/search': ['get'],
      '/v1/moments': ['get'],
      '/v1/moments/{id}': ['get'],
      '/v1/files/{id}/related': ['get'],
      '/v1/resources/{id}/related': ['get'],
    };
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(expected).sort());
    for (const [path, methods] of Object.entries(expected)) {
      for (const method of methods) {
        const operation = doc.paths[path]?.[method];
        expect(operation, `${method} ${path}`).toBeDefined();
        expect(Object.keys(operation?.responses ?? {}).length, `${method} ${path} responses`).toBeGreaterThan(
          0,
        );
        if (path.startsWith('/v1/')) expect(operation?.security, `${method} ${path} security`).toBeDefined();
      }
    }
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKeyHeader', 'bearerAuth']);
    expect(doc.components.schemas.Problem).toBeDefined();
    // The raw-body upload is documented as binary.
    const upload = doc.paths['/v1/files/{tenant}']?.post as unknown as {
      requestBody: { content: Record<string, unknown> };
    };
    expect(Object.keys(upload.requestBody.content)).toContain('application/octet-stream');

    const ui = await fetch(`${api.url}/docs/`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toContain('text/html');
    expect(await ui.text()).toContain('swagger');
  });
});
