/**
 * The walls of resumable uploads (issue 25): what one tenant's key must not be able to do to another
 * tenant's data or to the API, over real HTTP on the test stack (no bridge, no workers: nothing here is
 * ingested).
 * - a content type with CR/LF or other control characters is a 400 naming `contentType`, not a 500
 *   from the S3 client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.js';
import { type RunningApi, startApi } from '../../src/api/process.js';
import { createPipeline, dropBucket, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

const tenantA = uniqueTenant('wallsa');
const tenantB = uniqueTenant('wallsb');

let p: Pipeline;
let api: RunningApi;
let keyA: string;

beforeAll(async () => {
  p = await createPipeline('uploadwalls');
  api = await startApi(p.cfg, { port: 0, host: '127.0.0.1' });
  keyA = (await createApiKey(p.pool, tenantA, 'walls A')).key;
}, 60_000);

afterAll(async () => {
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
}

async function call(method: string, path: string, key: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

function expectProblem(answer: Answer, status: number): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.type).toContain('application/problem+json');
  expect(answer.body.status).toBe(status);
}

describe('resumable uploads: walls', () => {
  it('a content type with CR/LF or control characters is a 400 naming contentType', async () => {
    for (const contentType of [
      'text/plain\r\nX-Amz-Acl: public-read',
      'text/plain\u0000',
      'no-slash',
      'a/b; c',
    ]) {
      const answer = await call('POST', `/v1/uploads/${tenantA}`, keyA, { name: 'ct.bin', contentType });
      expectProblem(answer, 400);
      expect(JSON.stringify(answer.body)).toContain('contentType');
    }
    const fine = await call('POST', `/v1/uploads/${tenantA}`, keyA, {
      name: 'ct.txt',
      contentType: 'text/plain; charset="utf-8"',
    });
    expect(fine.status, JSON.stringify(fine.body)).toBe(201);
    expect((await call('DELETE', `/v1/uploads/${tenantA}/${String(fine.body.uploadId)}`, keyA)).status).toBe(
      204,
    );
  });
});
