/**
 * Per-tenant read-only download identities (issue 25, src/api/read-identities.ts) against the real
 * SeaweedFS of the test stack (which runs with -filer.saveToFilerLimit):
 * - the API's download route for tenant A hands out a URL signed by A's own identity (its derived access
 *   key in X-Amz-Credential), which GETs A's file; the identity file is stored inline and reads A only;
 * - A's derived credentials get 403 on B's bucket, and on PUT and DELETE in A's own;
 * - on a SeaweedFS whose filer stores the file as a volume chunk (no -filer.saveToFilerLimit, a private
 *   server), the file is deleted at once and the shared identity signs instead.
 */
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.js';
import { type RunningApi, startApi } from '../../src/api/process.js';
import {
  IDENTITIES_FOLDER,
  identityName,
  identitySecret,
  type ReadCredentials,
  TenantReadIdentities,
  tenantReadCredentials,
} from '../../src/api/read-identities.js';
import { ensureBucket } from '../../src/clients/object-store.js';
import { loadConfig } from '../../src/config/config.js';
import { createPipeline, dropBucket, type Pipeline } from '../support/pipeline.js';
import { createPrivateSeaweedfs } from '../support/private-seaweedfs.js';
import { clientAs, statusOf } from '../support/s3-identity.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const tenantA = uniqueTenant('tida');
const tenantB = uniqueTenant('tidb');
const env = isolatedEnv('tenantid', { P8FS_API_PRESIGN_PER_TENANT: 'true' });

let p: Pipeline;
let api: RunningApi;
let keyA: string;
let keyB: string;

const identityPath = (tenant: string) => `${IDENTITIES_FOLDER}/${identityName(tenant)}.json`;
const credentialsOf = (tenant: string) => tenantReadCredentials(identitySecret(p.cfg), tenant);

const clientOf = (credentials: ReadCredentials) =>
  clientAs(p.cfg, credentials.accessKey, credentials.secretKey);

async function registerFile(tenant: string): Promise<string> {
  const id = randomUUID();
  await p.pool.query(
    `INSERT INTO files (id, tenant_id, uri, path, name, category, status, mime_type)
     VALUES ($1, $2, $3, $4, 'note.txt', 'uploads', 'completed', 'text/plain')`,
    [id, tenant, `s3://${tenant}/uploads/note.txt`, `/buckets/${tenant}/uploads/note.txt`],
  );
  return id;
}

async function downloadUrl(fileId: string, key: string): Promise<string> {
  const answer = await fetch(`${api.url}/v1/files/${fileId}/download?redirect=false`, {
    headers: { authorization: `Bearer ${key}` },
  });
  expect(answer.status).toBe(200);
  return ((await answer.json()) as { url: string }).url;
}

beforeAll(async () => {
  p = await createPipeline('tenantid', {}, env);
  for (const bucket of [tenantA, tenantB]) {
    await ensureBucket(p.s3, bucket);
    await p.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'uploads/note.txt', Body: `note of ${bucket}` }),
    );
  }
  api = await startApi(p.cfg, { port: 0, host: '127.0.0.1', metricsPort: 0 });
  keyA = (await createApiKey(p.pool, tenantA, 'tenant identity A')).key;
  keyB = (await createApiKey(p.pool, tenantB, 'tenant identity B')).key;
}, 120_000);

afterAll(async () => {
  await api?.close();
  if (p) {
    for (const tenant of [tenantA, tenantB]) {
      await fetch(`${p.cfg.s3.filerUrl}${identityPath(tenant)}`, { method: 'DELETE' }).catch(() => undefined);
      await dropBucket(p.s3, tenant).catch(() => undefined);
    }
    await p.close();
  }
});

describe("each tenant's read-only download identity on SeaweedFS", () => {
  it("the download route signs A's URL with A's identity; it GETs A's file; the identity file is inline and reads A only", async () => {
    const started = Date.now();
    const url = await downloadUrl(await registerFile(tenantA), keyA);
    const waited = Date.now() - started;
    const credential = new URL(url).searchParams.get('X-Amz-Credential') ?? '';
    expect(credential.split('/')[0]).toBe(credentialsOf(tenantA).accessKey);
    // Handed out only once the S3 server honours the identity: the first GET already succeeds.
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(`note of ${tenantA}`);
    console.info(`first download URL of a tenant (identity written and honoured): ${waited} ms`);

    const entry = (await (
      await fetch(`${p.cfg.s3.filerUrl}${identityPath(tenantA)}?metadata=true`)
    ).json()) as { Content?: string; chunks?: unknown[] };
    expect(entry.chunks ?? []).toEqual([]);
    const stored = JSON.parse(Buffer.from(entry.Content ?? '', 'base64').toString('utf8')) as {
      name: string;
      actions: string[];
    };
    expect(stored.name).toBe(identityName(tenantA));
    expect(stored.actions).toEqual([`Read:${tenantA}`]);

    // B's download is signed by B's identity, not A's.
    const urlB = await downloadUrl(await registerFile(tenantB), keyB);
    expect(new URL(urlB).searchParams.get('X-Amz-Credential')?.split('/')[0]).toBe(
      credentialsOf(tenantB).accessKey,
    );
    expect(await (await fetch(urlB)).text()).toBe(`note of ${tenantB}`);
  });

  it("A's derived credentials: 403 on B's bucket, on PUT and on DELETE; A's object unchanged", async () => {
    const readA = clientOf(credentialsOf(tenantA));
    try {
      const own = await readA.send(new GetObjectCommand({ Bucket: tenantA, Key: 'uploads/note.txt' }));
      expect(await own.Body?.transformToString()).toBe(`note of ${tenantA}`);
      const other = new GetObjectCommand({ Bucket: tenantB, Key: 'uploads/note.txt' });
      expect(await statusOf(readA.send(other))).toBe(403);
      const put = new PutObjectCommand({ Bucket: tenantA, Key: 'uploads/note.txt', Body: 'overwritten' });
      expect(await statusOf(readA.send(put))).toBe(403);
      const del = new DeleteObjectCommand({ Bucket: tenantA, Key: 'uploads/note.txt' });
      expect(await statusOf(readA.send(del))).toBe(403);
      const still = await p.s3.send(new GetObjectCommand({ Bucket: tenantA, Key: 'uploads/note.txt' }));
      expect(await still.Body?.transformToString()).toBe(`note of ${tenantA}`);
    } finally {
      readA.destroy();
    }
  });

  it('a filer that stores the identity as a volume chunk: the file is deleted at once and the shared identity signs', async () => {
    const weed = await createPrivateSeaweedfs(p.cfg.s3.accessKeyId, p.cfg.s3.secretAccessKey);
    const warnings: { details: object; message: string }[] = [];
    const log = {
      info: () => undefined,
      warn: (details: object, message: string) => warnings.push({ details, message }),
    };
    try {
      await weed.start();
      const cfg = loadConfig({
        ...env,
        P8FS_SEAWEEDFS_ENDPOINT: weed.s3Endpoint,
        P8FS_SEAWEEDFS_FILER: weed.filerUrl,
      });
      const identities = new TenantReadIdentities(cfg, log, 3000);
      try {
        expect(await identities.signer(tenantA, tenantA, 'uploads/note.txt')).toBeUndefined();
        expect(warnings.map((w) => JSON.stringify(w.details))).toEqual([
          expect.stringContaining('-filer.saveToFilerLimit'),
        ]);
        const left = await fetch(`${weed.filerUrl}${identityPath(tenantA)}?metadata=true`);
        expect(left.status).toBe(404);
        // Off for the process: no further writes for other tenants.
        expect(await identities.signer(tenantB, tenantB, 'uploads/note.txt')).toBeUndefined();
        expect((await fetch(`${weed.filerUrl}${identityPath(tenantB)}?metadata=true`)).status).toBe(404);
      } finally {
        identities.close();
      }
    } finally {
      await weed.destroy();
    }
  }, 120_000);
});
