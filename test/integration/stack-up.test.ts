/**
 * `p8fs stack up` starts our processes too (filer subscriber, bridge, storage workers) in the background,
 * so an S3 PutObject alone becomes rows; `stack status` shows them and `stack down` stops them while
 * leaving servers it did not start alone. Real servers (the test stack's, reused), real processes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/clients/postgres.js';
import { createS3Client } from '../../src/clients/s3.js';
import { loadConfig } from '../../src/config/config.js';
import { samplesDir } from '../../src/stack/paths.js';
import { runCli } from '../support/cli.js';
import { eventually } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const stackDir = mkdtempSync(join(tmpdir(), 'p8fs-stack-up-'));
const tenant = uniqueTenant('stackup');

afterAll(async () => {
  // Whatever happened, no process of ours outlives the test.
  await runCli(['stack', 'down'], await envPromise).catch(() => undefined);
  rmSync(stackDir, { recursive: true, force: true });
});

const envPromise = (async () => {
  const env = isolatedEnv('stackup', {
    P8FS_STACK_DIR: stackDir,
    P8FS_BRIDGE_HEALTH_PORT: String(await freePort()),
    P8FS_SUBSCRIBER_HEALTH_PORT: String(await freePort()),
    P8FS_WORKER_METRICS_PORT: String(await freePort()),
    P8FS_SUBSCRIBER_PATH_PREFIX: `/buckets/${tenant}/`,
    P8FS_LOG_FORMAT: 'json',
  });
  env.P8FS_SUBSCRIBER_CURSOR_BUCKET = `cursor-${env.P8FS_TASK_QUEUE_PREFIX}`;
  return env;
})();

describe('p8fs stack up with our processes', () => {
  it('starts subscriber, bridge and workers: a PutObject alone becomes rows; down stops them', async () => {
    const env = await envPromise;
    const migrated = await runCli(['migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);

    const up = await runCli(['stack', 'up'], env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    for (const name of ['storage-worker', 'bridge', 'subscriber'])
      expect(up.stdout).toMatch(new RegExp(`${name}: ready \\(pid \\d+`));
    // The servers answered already (the test stack), so they were reused, not started a second time.
    expect(up.stdout).not.toMatch(/temporal: starting/);

    const cfg = loadConfig(env);
    const s3: S3Client = createS3Client(cfg);
    const pool = createPool(cfg, 1);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: tenant }));
      const body = readFileSync(join(samplesDir(), 'content', 'Sample.md'));
      await s3.send(
        new PutObjectCommand({
          Bucket: tenant,
          Key: 'notes/Sample.md',
          Body: body,
          ContentType: 'text/markdown',
        }),
      );
      const row = await eventually(
        'Sample.md to be ingested by the background processes',
        async () => {
          const r = await pool.query<{ status: string; resources: number }>(
            `SELECT f.status, (SELECT count(*)::int FROM resources r WHERE r.file_id = f.id) AS resources
             FROM files f WHERE f.path = $1`,
            [`/buckets/${tenant}/notes/Sample.md`],
          );
          return r.rows[0]?.status === 'completed' ? r.rows[0] : undefined;
        },
        90_000,
      );
      expect(row.resources).toBeGreaterThan(0);
    } finally {
      s3.destroy();
      await pool.end();
    }

    const status = await runCli(['stack', 'status'], env);
    expect(status.stdout).toMatch(/subscriber\s+up/);
    expect(status.stdout).toMatch(/bridge\s+up/);
    expect(status.stdout).toMatch(/storage-worker\s+up/);

    const down = await runCli(['stack', 'down'], env);
    expect(down.code, down.stderr).toBe(0);
    for (const name of ['subscriber', 'bridge', 'storage-worker'])
      expect(down.stdout).toMatch(new RegExp(`${name}: stopped \\(pid \\d+\\)`));
    expect(down.stdout).toMatch(/temporal: not started by this stack; left alone/);
    const after = await runCli(['stack', 'status'], env);
    expect(after.stdout).toMatch(/subscriber\s+not running/);
  }, 240_000);
});
