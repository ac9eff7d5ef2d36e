/**
 * The read-only S3 identity that signs download URLs (issue 25, P8FS_API_PRESIGN_ACCESS_KEY/_SECRET_KEY),
 * against the real SeaweedFS of the test stack. The stack starts with the admin identity only, so the
 * test adds its identities at run time with `weed shell s3.configure` (SeaweedFS keeps them in the filer,
 * /etc/iam/identities, beside the static -s3.config ones, and the S3 server reloads them), and removes
 * them afterwards:
 * - a download URL from the API, signed by an identity whose only action is Read, GETs the file;
 * - the same credentials cannot PUT or DELETE (403), so a leaked download secret cannot change data;
 * - an identity scoped `Read:<bucket>` (the form a per-tenant identity would take) reads its bucket and is
 *   refused (403) on another tenant's.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.js';
import { type RunningApi, startApi } from '../../src/api/process.js';
import { ensureBucket } from '../../src/clients/object-store.js';
import { serverBinDir } from '../../src/stack/paths.js';
import { createPipeline, dropBucket, eventually, type Pipeline } from '../support/pipeline.js';
import { clientAs, statusOf } from '../support/s3-identity.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const run = promisify(execFile);
const tenantA = uniqueTenant('rida');
const tenantB = uniqueTenant('ridb');
const suffix = randomBytes(3).toString('hex');
/** Read on every bucket: the shared download identity. */
const shared = {
  user: `t-download-${suffix}`,
  ak: `TDL${suffix.toUpperCase()}RO`,
  sk: randomBytes(20).toString('hex'),
};
/** Read on tenant A's bucket only. */
const scoped = {
  user: `t-read-a-${suffix}`,
  ak: `TRA${suffix.toUpperCase()}RO`,
  sk: randomBytes(20).toString('hex'),
};
const env = isolatedEnv('readid', {
  P8FS_API_PRESIGN_ACCESS_KEY: shared.ak,
  P8FS_API_PRESIGN_SECRET_KEY: shared.sk,
  // The shared identity is what this file checks; per-tenant ones: s3-tenant-identity.test.ts.
  P8FS_API_PRESIGN_PER_TENANT: 'false',
});

let p: Pipeline;
let api: RunningApi;
let keyA: string;

/** Runs one `weed shell` command against the test stack's master. */
async function weedShell(command: string): Promise<string> {
  const master = `127.0.0.1:${p.cfg.stack.seaweedMasterPort}`;
  const { stdout } = await run(
    'bash',
    [
      '-c',
      `echo "$1" | "$2" shell -master="$3"`,
      'weed-shell',
      command,
      join(serverBinDir(), 'weed'),
      master,
    ],
    { timeout: 60_000 },
  );
  return stdout;
}

const clientOf = (identity: { ak: string; sk: string }) => clientAs(p.cfg, identity.ak, identity.sk);

beforeAll(async () => {
  p = await createPipeline('readid', {}, env);
  for (const bucket of [tenantA, tenantB]) {
    await ensureBucket(p.s3, bucket);
    await p.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'uploads/note.txt', Body: `note of ${bucket}` }),
    );
  }
  await weedShell(
    `s3.configure -user ${shared.user} -access_key ${shared.ak} -secret_key ${shared.sk} -actions Read -apply`,
  );
  await weedShell(
    `s3.configure -user ${scoped.user} -access_key ${scoped.ak} -secret_key ${scoped.sk} -actions Read:${tenantA} -apply`,
  );
  api = await startApi(p.cfg, { port: 0, host: '127.0.0.1' });
  keyA = (await createApiKey(p.pool, tenantA, 'read identity A')).key;
}, 120_000);

afterAll(async () => {
  await api?.close();
  if (p) {
    for (const user of [shared.user, scoped.user])
      await weedShell(`s3.configure -user ${user} -delete -apply`).catch(() => undefined);
    for (const bucket of [tenantA, tenantB]) await dropBucket(p.s3, bucket).catch(() => undefined);
    await p.close();
  }
});

describe('the read-only download identity on SeaweedFS', () => {
  it('a download URL signed by the Read-only identity GETs the file; its credentials cannot PUT or DELETE (403)', async () => {
    const id = randomUUID();
    await p.pool.query(
      `INSERT INTO files (id, tenant_id, uri, path, name, category, status, mime_type)
       VALUES ($1, $2, $3, $4, 'note.txt', 'uploads', 'completed', 'text/plain')`,
      [id, tenantA, `s3://${tenantA}/uploads/note.txt`, `/buckets/${tenantA}/uploads/note.txt`],
    );
    const answer = await fetch(`${api.url}/v1/files/${id}/download?redirect=false`, {
      headers: { authorization: `Bearer ${keyA}` },
    });
    expect(answer.status).toBe(200);
    const { url } = (await answer.json()) as { url: string };
    // Signed by the download identity, not the admin one.
    expect(new URL(url).searchParams.get('X-Amz-Credential')).toMatch(new RegExp(`^${shared.ak}/`));
    // The S3 server picks up identities added at run time within a moment.
    const body = await eventually(
      'the download URL to answer 200',
      async () => {
        const got = await fetch(url);
        if (got.status !== 200) throw new Error(`GET of the download URL answered ${got.status}`);
        return got.text();
      },
      20_000,
    );
    expect(body).toBe(`note of ${tenantA}`);

    const download = clientOf(shared);
    try {
      const put = new PutObjectCommand({ Bucket: tenantA, Key: 'uploads/note.txt', Body: 'overwritten' });
      expect(await statusOf(download.send(put))).toBe(403);
      const del = new DeleteObjectCommand({ Bucket: tenantA, Key: 'uploads/note.txt' });
      expect(await statusOf(download.send(del))).toBe(403);
      // Unchanged: the admin identity still reads the original.
      const still = await p.s3.send(new GetObjectCommand({ Bucket: tenantA, Key: 'uploads/note.txt' }));
      expect(await still.Body?.transformToString()).toBe(`note of ${tenantA}`);
    } finally {
      download.destroy();
    }
  });

  it("an identity scoped Read:<bucket> reads that tenant's bucket and is refused (403) on another's", async () => {
    const readA = clientOf(scoped);
    try {
      const own = await eventually(
        "the scoped identity to read its tenant's object",
        () => readA.send(new GetObjectCommand({ Bucket: tenantA, Key: 'uploads/note.txt' })),
        20_000,
      );
      expect(await own.Body?.transformToString()).toBe(`note of ${tenantA}`);
      const other = new GetObjectCommand({ Bucket: tenantB, Key: 'uploads/note.txt' });
      expect(await statusOf(readA.send(other))).toBe(403);
      const put = new PutObjectCommand({ Bucket: tenantA, Key: 'uploads/x.txt', Body: 'x' });
      expect(await statusOf(readA.send(put))).toBe(403);
    } finally {
      readA.destroy();
    }
  });
});
