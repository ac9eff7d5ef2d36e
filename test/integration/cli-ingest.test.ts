/**
 * `p8fs ingest` on the real test stack (SeaweedFS, NATS, Temporal, PostgreSQL), run in-process
 * (runCliInProcess: the real command tree and config loading, without seconds of tsx start-up per run),
 * with a bridge, small-tier workers and a filer subscriber that follows only one of the two tenants:
 * - outside the subscriber's bucket the command publishes the event itself, and --wait follows both files
 *   to `completed` with their rows stored;
 * - inside it the subscriber publishes the event and the command does not (one message on the stream), and
 *   the command's own event for the same upload would name the very same workflow (deduplicated);
 * - a missing file, or an unreachable NATS or S3, fails before anything is uploaded, naming what is wrong.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadLocalFile } from '../../src/cli/ingest-upload.js';
import { headObject } from '../../src/clients/object-store.js';
import { fileIdFor } from '../../src/domain/ids.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { dropBucket, eventually, type Pipeline } from '../support/pipeline.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { createSubscribedPipeline, type SubscribedPipeline } from '../support/subscriber.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const tenant = uniqueTenant('cliingest');
const followedTenant = uniqueTenant('cliingestsub');
const env = isolatedEnv('cliingest', {
  P8FS_SUBSCRIBER_PATH_PREFIX: `/buckets/${followedTenant}/`,
  P8FS_SUBSCRIBER_HEALTH_PORT: '0',
});
env.P8FS_SUBSCRIBER_CURSOR_BUCKET = `cursor-${env.P8FS_TASK_QUEUE_PREFIX}`;

const md = join(SAMPLES_DIR, 'content/Sample.md');
const txt = join(SAMPLES_DIR, 'small/sample.txt');
let running: SubscribedPipeline | undefined;
let p: Pipeline;
let scratch: string;

beforeAll(async () => {
  running = await createSubscribedPipeline('cliingest', env, followedTenant, ['small']);
  p = running.p;
  scratch = await mkdtemp(join(tmpdir(), 'p8fs-cli-ingest-'));
}, 90_000);

afterAll(async () => {
  await running?.close();
  if (p) {
    await dropBucket(p.s3, tenant).catch(() => undefined);
    await dropBucket(p.s3, `${tenant}-parts`).catch(() => undefined);
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function storedChunks(bucket: string, key: string): Promise<number> {
  const r = await p.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM resources WHERE file_id = $1', [
    fileIdFor(bucket, `/buckets/${bucket}/${key}`),
  ]);
  return r.rows[0]?.n ?? 0;
}

/** The storage events on this file's stream that name `path`. */
async function eventsFor(path: string): Promise<Record<string, unknown>[]> {
  const jsm = await jetstreamManager(p.nc);
  const info = await jsm.streams.info(p.cfg.nats.eventsStream);
  const found: Record<string, unknown>[] = [];
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const msg = await jsm.streams.getMessage(p.cfg.nats.eventsStream, { seq }).catch(() => null);
    const event = msg?.json<Record<string, unknown>>();
    if (event?.path === path) found.push(event);
  }
  return found;
}

describe('p8fs ingest FILE… --tenant T', () => {
  it('uploads two files, publishes their events itself (no subscriber there) and --wait follows both to completed', async () => {
    const result = await runCliInProcess(['ingest', md, txt, '--tenant', tenant, '--wait'], env);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/uploaded Sample\.md → s3:\/\//);
    expect(result.stdout).toMatch(/published here on .*the filer subscriber follows/);
    // The table: one line per file, completed, with its chunk count.
    const table = result.stdout.slice(result.stdout.lastIndexOf('file '));
    expect(table).toMatch(/^file\s+tier\s+status\s+chunks\s+seconds\s+reason/);
    for (const [name, key] of [
      ['Sample.md', 'uploads/Sample.md'],
      ['sample.txt', 'uploads/sample.txt'],
    ] as const) {
      const line = table.split('\n').find((l) => l.startsWith(name));
      expect(line, table).toMatch(/small\s+completed\s+(\d+)/);
      const chunks = Number(/completed\s+(\d+)/.exec(line ?? '')?.[1]);
      expect(chunks).toBeGreaterThan(0);
      expect(await storedChunks(tenant, key)).toBe(chunks);
    }
  }, 60_000);

  it('leaves the event to a running filer subscriber: one event on the stream, and its own would be the same workflow', async () => {
    const result = await runCliInProcess(['ingest', md, '--tenant', followedTenant, '--wait'], env);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/published by the filer subscriber/);
    expect(result.stdout).not.toMatch(/published here/);
    const path = `/buckets/${followedTenant}/uploads/Sample.md`;
    const events = await eventsFor(path);
    expect(events.map((e) => e.source)).toEqual(['seaweedfs-filer']);
    expect(await storedChunks(followedTenant, 'uploads/Sample.md')).toBeGreaterThan(0);

    // Had the command published too (the subscriber slower than --subscriber-wait), its event would name
    // the workflow the subscriber's event started, and the bridge would not start a second one.
    const workflowId = /workflow (ingest-create\/\S+)/.exec(result.stdout)?.[1];
    expect(workflowId, result.stdout).toBeDefined();
    await p.publish({ event_type: 'create', path, size: events[0]?.size, source: 'p8fs-ingest' });
    const second = await eventually('the bridge to route the second event', async () =>
      p.results.find((r) => r.kind === 'deduplicated' && r.workflowId === workflowId),
    );
    expect(second.kind).toBe('deduplicated');
    expect(p.results.filter((r) => r.kind === 'started' && r.workflowId === workflowId)).toHaveLength(1);
  }, 60_000);

  it('a subscriber that has a cursor but does not take the upload: the command publishes after --subscriber-wait', async () => {
    await running?.subscriber.stop();
    const result = await runCliInProcess(
      ['ingest', txt, '--tenant', followedTenant, '--subscriber-wait', '1s'],
      env,
    );
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/published here on .*the filer subscriber did not take it within 1 s/);
    const events = await eventsFor(`/buckets/${followedTenant}/uploads/sample.txt`);
    expect(events.map((e) => e.source)).toEqual(['p8fs-ingest']);
  });

  it('a missing file: exit 1 naming it, and nothing is uploaded', async () => {
    const missing = join(scratch, 'no-such-report.pdf');
    const result = await runCliInProcess(
      ['ingest', md, missing, '--tenant', tenant, '--category', 'never'],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`file not found: ${missing}`);
    expect(result.stderr).toContain('nothing was uploaded');
    expect(await headObject(p.s3, tenant, 'never/Sample.md')).toBeUndefined();
  });

  it('unreachable NATS or S3: exit 1 naming the variable, nothing uploaded', async () => {
    const nats = await runCliInProcess(['ingest', md, '--tenant', tenant, '--category', 'nonats'], {
      ...env,
      P8FS_NATS_URL: 'nats://127.0.0.1:1',
    });
    expect(nats.code).toBe(1);
    expect(nats.stderr).toMatch(/NATS at nats:\/\/127\.0\.0\.1:1 unreachable.*P8FS_NATS_URL/);
    const s3 = await runCliInProcess(['ingest', md, '--tenant', tenant, '--category', 'nos3'], {
      ...env,
      P8FS_SEAWEEDFS_ENDPOINT: 'http://127.0.0.1:1',
    });
    expect(s3.code).toBe(1);
    expect(s3.stderr).toMatch(/SeaweedFS S3 at http:\/\/127\.0\.0\.1:1 \(P8FS_SEAWEEDFS_ENDPOINT\) failed/);
    expect(await headObject(p.s3, tenant, 'nonats/Sample.md')).toBeUndefined();
  });

  it('a big file goes up as a multipart upload, part by part', async () => {
    const file = join(scratch, 'big.bin');
    const size = 11 * 1024 * 1024 + 123;
    await writeFile(file, randomBytes(size));
    const progress: number[] = [];
    const object = await uploadLocalFile(p.s3, file, size, `${tenant}-parts`, 'uploads', {
      multipartFromBytes: 1,
      partBytes: 5 * 1024 * 1024,
      onProgress: (sent) => progress.push(sent),
    });
    expect(progress).toEqual([5 * 1024 * 1024, 10 * 1024 * 1024, size]);
    const head = await headObject(p.s3, `${tenant}-parts`, 'uploads/big.bin');
    expect(head?.size).toBe(size);
    // An S3 multipart etag ends in -<number of parts>.
    expect(head?.etag).toMatch(/-3$/);
    expect(object.etag).toBe(head?.etag);
  });
});
