/**
 * The walls of resumable uploads (issue 25): what one tenant's key must not be able to do to another
 * tenant's data or to the API, over real HTTP on the test stack (no bridge, no workers: nothing here is
 * ingested).
 * - a content type with CR/LF or other control characters is a 400 naming `contentType`, not a 500
 *   from the S3 client;
 * - upload ids are signed: an unsigned id, one whose key or bucket was rewritten, or another tenant's, is
 *   a 404 on every route (status, part, complete, abort); the signing key is derived, not random, so
 *   another replica or a restarted API accepts the same id;
 * - a tenant has at most P8FS_API_MAX_OPEN_UPLOADS open uploads: one more is a 429 naming the cap, and
 *   aborting one makes room.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.js';
import { encodeUploadId, uploadSigningKey } from '../../src/api/object-uploads.js';
import { type RunningApi, startApi } from '../../src/api/process.js';
import { type Answer, callApi, expectProblem } from '../support/api-client.js';
import { createPipeline, dropBucket, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

const tenantA = uniqueTenant('wallsa');
const tenantB = uniqueTenant('wallsb');

let p: Pipeline;
let api: RunningApi;
let keyA: string;
let keyB: string;

beforeAll(async () => {
  p = await createPipeline('uploadwalls');
  api = await startApi(p.cfg, { port: 0, host: '127.0.0.1' });
  keyA = (await createApiKey(p.pool, tenantA, 'walls A')).key;
  keyB = (await createApiKey(p.pool, tenantB, 'walls B')).key;
}, 60_000);

afterAll(async () => {
  await api?.close();
  if (p) {
    for (const bucket of [tenantA, tenantB]) await dropBucket(p.s3, bucket).catch(() => undefined);
    await p.close();
  }
});

function call(method: string, path: string, key: string, body?: unknown): Promise<Answer> {
  return callApi(api.url, method, path, key, body);
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

  it('an unsigned, rewritten or foreign upload id is a 404 on every route; a restart keeps ids valid', async () => {
    const started = await call('POST', `/v1/uploads/${tenantA}`, keyA, { name: 'signed.bin' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = String(started.body.uploadId);
    const [payload] = id.split('.');
    const [bucket, key, s3UploadId] = JSON.parse(
      Buffer.from(String(payload), 'base64url').toString(),
    ) as string[];
    expect([bucket, key]).toEqual([tenantA, 'uploads/signed.bin']);
    expect((await call('GET', `/v1/uploads/${tenantA}/${id}`, keyA)).status).toBe(200);
    // The same key on another API process (or after a restart) signs the same id.
    expect(
      encodeUploadId(
        { bucket: tenantA, key: 'uploads/signed.bin', s3UploadId: String(s3UploadId) },
        uploadSigningKey(p.cfg),
      ),
    ).toBe(id);

    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signatureOf = id.slice(id.lastIndexOf('.'));
    const forged = [
      b64([tenantA, key, s3UploadId]), // the old, unsigned shape
      `${b64([tenantA, 'uploads/elsewhere.bin', s3UploadId])}${signatureOf}`, // key rewritten
      `${b64([tenantB, key, s3UploadId])}${signatureOf}`, // bucket rewritten
      `${String(payload)}.AAAA`,
    ];
    for (const bad of forged) {
      for (const [tenant, k] of [
        [tenantA, keyA],
        [tenantB, keyB],
      ] as const) {
        const base = `/v1/uploads/${tenant}/${bad}`;
        expectProblem(await call('GET', base, k), 404);
        expectProblem(await call('POST', `${base}/complete`, k), 404);
        expectProblem(await call('DELETE', base, k), 404);
        const part = await fetch(`${api.url}${base}/parts/1`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${k}`, 'content-type': 'application/octet-stream' },
          body: 'x',
        });
        expect(part.status).toBe(404);
      }
    }
    // Tenant B with A's genuine id: 404 too, and A's upload is untouched.
    expectProblem(await call('GET', `/v1/uploads/${tenantB}/${id}`, keyB), 404);
    expectProblem(await call('DELETE', `/v1/uploads/${tenantB}/${id}`, keyB), 404);
    expect((await call('DELETE', `/v1/uploads/${tenantA}/${id}`, keyA)).status).toBe(204);
  });

  it('one more open upload than P8FS_API_MAX_OPEN_UPLOADS is a 429 naming the cap; aborting one makes room', async () => {
    const capped = await startApi(
      { ...p.cfg, api: { ...p.cfg.api, maxOpenUploads: 2 } },
      { port: 0, host: '127.0.0.1' },
    );
    const tenantC = uniqueTenant('wallsc');
    const keyC = (await createApiKey(p.pool, tenantC, 'walls C')).key;
    const start = async (name: string) => {
      const response = await fetch(`${capped.url}/v1/uploads/${tenantC}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keyC}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      return {
        status: response.status,
        type: response.headers.get('content-type') ?? '',
        body: (await response.json()) as Record<string, unknown>,
      };
    };
    try {
      const first = await start('one.bin');
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      expect((await start('two.bin')).status).toBe(201);
      const third = await start('three.bin');
      expectProblem(third, 429);
      expect(String(third.body.detail)).toContain('P8FS_API_MAX_OPEN_UPLOADS=2');
      // Another tenant is not held back by C's uploads.
      expect((await call('POST', `/v1/uploads/${tenantA}`, keyA, { name: 'free.bin' })).status).toBe(201);
      const abort = await fetch(`${capped.url}/v1/uploads/${tenantC}/${String(first.body.uploadId)}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${keyC}` },
      });
      expect(abort.status).toBe(204);
      expect((await start('three.bin')).status).toBe(201);
    } finally {
      await capped.close();
      await dropBucket(p.s3, tenantC).catch(() => undefined);
    }
  });
});
