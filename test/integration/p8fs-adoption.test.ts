/**
 * The switch from a running P8FS, end to end (issue "Drop-in for P8FS", its "done when"): NATS as the
 * original router leaves it (a private nats-server: WorkQueue streams P8FS_STORAGE_EVENTS{,_SMALL,…},
 * consumers small-workers … and tiered-storage-router, test/support/original-p8fs-nats.ts) and a
 * PostgreSQL database its workers wrote (tenant-test's uploads/Sample.md in two chunks and its jobs,
 * errors, moments and sessions, test/support/original-p8fs-db.ts). `p8fs migrate` adopts the database and
 * `--rekey` finds nothing to re-key; our bridge, a storage worker and the filer subscriber start against
 * both with the original's names (the test stack's Temporal and SeaweedFS). Then:
 * - an S3 PutObject of a new file becomes rows as the original writes them (ids, names, category, uri);
 * - the same PutObject of uploads/Sample.md, which the original had processed, re-ingests it onto the
 *   very row ids the original wrote: no second files row, no duplicate chunk;
 * - an event an old producer publishes to the tier subject p8fs.storage.events.small is served too;
 * - the seeds' verify SQL, run verbatim, gives `Sample_chunk_0 | content_chunk` and the like.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bridge } from '../../src/bridge/bridge.js';
import { putCreatingBucket } from '../../src/clients/object-store.js';
import { createS3Client } from '../../src/clients/s3.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { rekeyFiles } from '../../src/db/rekey.js';
import { fileIdFor, resourceIdFor } from '../../src/domain/ids.js';
import { Subscriber } from '../../src/subscriber/subscriber.js';
import { createStorageWorkers, type StorageWorkers } from '../../src/workers/storage-worker.js';
import { fileChunks } from '../support/file-chunks.js';
import {
  createOriginalP8fsDatabase,
  ORIGINAL_ROWS,
  type OriginalP8fsDb,
} from '../support/original-p8fs-db.js';
import {
  originalRoutedEvent,
  originalTierSubject,
  type PrivateNats,
  publishAsOriginal,
  setUpAsOriginalRouter,
  startPrivateNats,
} from '../support/original-p8fs-nats.js';
import { eventually } from '../support/pipeline.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { toPostgres, verifyQueries } from '../support/seed-sql.js';
import { testStackEnv, uniqueTenant } from '../support/test-stack.js';

const tenant = ORIGINAL_ROWS.tenant; // tenant-test: the seeds' and the original rows'
const run = uniqueTenant('adoption');
// Keys of this run only (the bucket is the seeds' tenant, shared with whoever else uses that name).
const newKey = `uploads/${run}/notes.txt`;
const tierKey = `legacy/${run}/old-producer.txt`;
const silent = pino({ level: 'silent' });

let nats: PrivateNats;
let nc: NatsConnection;
let db: OriginalP8fsDb;
let pool: pg.Pool;
let cfg: Config;
let s3: S3Client;
let bridge: Bridge;
let workers: StorageWorkers;
let workersRun: Promise<void>;
let subscriber: Subscriber;
const migrateLines: string[] = [];
const rekeyLines: string[] = [];

beforeAll(async () => {
  nats = await startPrivateNats();
  nc = await nats.connect();
  await setUpAsOriginalRouter(nc, { testStream: true });
  db = await createOriginalP8fsDatabase('adoption');
  pool = db.pool;
  // The original's names throughout (our defaults); only servers, the database and task queues are the test's.
  cfg = loadConfig({
    ...testStackEnv(),
    P8FS_PG_DATABASE: db.database,
    P8FS_NATS_URL: nats.url,
    P8FS_NATS_MONITOR_URL: nats.monitorUrl,
    P8FS_TASK_QUEUE_PREFIX: `t-${run}`,
    P8FS_DERIVED_BUCKET: `${run}-derived`,
    P8FS_SUBSCRIBER_PATH_PREFIX: `/buckets/${tenant}/`,
    P8FS_SUBSCRIBER_HEALTH_PORT: '0',
  });
  await migrateDatabase(cfg, (line) => migrateLines.push(line));
  await rekeyFiles(pool, (line) => rekeyLines.push(line));
  s3 = createS3Client(cfg);
  workers = await createStorageWorkers(cfg, ['small'], {}, silent);
  workersRun = workers.run();
  bridge = await Bridge.create(cfg, silent);
  bridge.start();
  subscriber = await Subscriber.create(cfg, silent);
  subscriber.start();
}, 180_000);

afterAll(async () => {
  await subscriber?.stop();
  await bridge?.stop();
  workers?.shutdown();
  await workersRun;
  for (const key of [newKey, tierKey, ORIGINAL_ROWS.filePath]) {
    await s3?.send(new DeleteObjectCommand({ Bucket: tenant, Key: key })).catch(() => undefined);
  }
  s3?.destroy();
  await nc?.close();
  await nats?.destroy();
  await db?.dispose();
}, 120_000);

async function put(key: string, sample: string, contentType: string): Promise<void> {
  const body = readFileSync(resolve(SAMPLES_DIR, sample));
  await putCreatingBucket(s3, tenant, () =>
    s3.send(new PutObjectCommand({ Bucket: tenant, Key: key, Body: body, ContentType: contentType })),
  );
}

/** The files row of `key` once completed, with the updated_at it has then. */
async function completed(key: string, after?: Date): Promise<{ id: string; chunk_count: number }> {
  return eventually(
    `files row of ${key} completed`,
    async () => {
      const row = await pool.query<{ id: string; chunk_count: number; updated_at: Date }>(
        `SELECT id, chunk_count, updated_at FROM files WHERE tenant_id = $1 AND path = $2 AND status = 'completed'`,
        [tenant, `/buckets/${tenant}/${key}`],
      );
      const found = row.rows[0];
      return found && (!after || found.updated_at > after) ? found : undefined;
    },
    120_000,
  );
}

describe('switching a running P8FS to P8FS Flows', () => {
  it('adopts the database as the original left it, with nothing to re-key', () => {
    expect(migrateLines.join('\n')).toContain("adopting the original P8FS's tables");
    expect(rekeyLines.at(-1)).toMatch(/ 0 re-keyed .*: done$/);
  });

  it('ingests a new upload into rows as the original writes them', async () => {
    await put(newKey, 'small/sample.txt', 'text/plain');
    const file = await completed(newKey);
    expect(file.id).toBe(fileIdFor(tenant, `/buckets/${tenant}/${newKey}`));
    const rows = await fileChunks(pool, file.id);
    expect(rows.length).toBe(file.chunk_count);
    for (const [i, row] of rows.entries()) {
      expect(row).toMatchObject({
        id: resourceIdFor(file.id, i),
        name: `notes_chunk_${i}`,
        category: 'content_chunk',
        uri: `${newKey}#chunk_${i}`,
      });
      expect(row.metadata).toMatchObject({ file_id: file.id, chunk_index: i, chunk_type: 'text' });
      expect(row.metadata.file_mtime).toEqual(expect.any(String));
    }
  });

  it('re-ingests a file the original processed onto the same row ids, without duplicates', async () => {
    const before = new Date();
    await put(ORIGINAL_ROWS.filePath, 'content/Sample.md', 'text/markdown');
    const file = await completed(ORIGINAL_ROWS.filePath, before);
    expect(file.id).toBe(ORIGINAL_ROWS.fileId);
    const rows = await fileChunks(pool, file.id);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBe(file.chunk_count);
    // The original's chunk ids are ours: its rows were replaced in place, not duplicated.
    expect(rows.slice(0, 2).map((r) => r.id)).toEqual(ORIGINAL_ROWS.resourceIds.slice(0, rows.length));
    expect(rows[0]?.name).toBe('Sample_chunk_0');
    expect(rows.some((r) => r.content.includes('The original P8FS wrote this chunk'))).toBe(false);
    const files = await pool.query(
      'SELECT count(*)::int AS n FROM files WHERE tenant_id = $1 AND path = $2',
      [tenant, ORIGINAL_ROWS.path],
    );
    expect(files.rows).toEqual([{ n: 1 }]);
    // Every chunk of the file once, under the file whichever way it is looked for (column, metadata, uri).
    const named = await pool.query<{ name: string; n: number }>(
      `SELECT name, count(*)::int AS n FROM resources
        WHERE tenant_id = $1 AND (file_id = $2 OR metadata->>'file_id' = $2::text OR uri LIKE $3)
        GROUP BY name ORDER BY name`,
      [tenant, file.id, `${ORIGINAL_ROWS.filePath}#chunk_%`],
    );
    expect(named.rows.length).toBe(file.chunk_count);
    expect(named.rows.every((r) => r.n === 1)).toBe(true);
  });

  it('serves an event an old producer publishes to the tier subject', async () => {
    await put(tierKey, 'small/sample.txt', 'text/plain');
    const event = {
      event_type: 'create',
      path: `/buckets/${tenant}/${tierKey}`,
      tenant_id: tenant,
      size: 497,
    };
    await publishAsOriginal(nc, originalTierSubject('small'), originalRoutedEvent(event, 'small'));
    const file = await completed(tierKey);
    expect(file.id).toBe(fileIdFor(tenant, `/buckets/${tenant}/${tierKey}`));
    expect((await fileChunks(pool, file.id))[0]?.name).toBe('old-producer_chunk_0');
  });

  it("gives the seeds' verify SQL, run as written, the seeds' rows", async () => {
    const queries = verifyQueries();
    expect(queries.length).toBeGreaterThanOrEqual(2);
    for (const query of queries) {
      const result = await pool.query<{ name: string; category: string }>(toPostgres(query.sql));
      expect(result.rows.length, query.sql).toBeGreaterThan(0);
      for (const row of result.rows) {
        expect(row.category, query.sql).toBe('content_chunk');
        expect(row.name, query.sql).toMatch(/_chunk_\d+$/);
      }
    }
    // Sample.md's first chunk, as the seeds show it (`Sample_chunk_0 | content_chunk`).
    const sample = await pool.query(
      `SELECT name, category FROM resources WHERE tenant_id = 'tenant-test' AND id = $1`,
      [ORIGINAL_ROWS.resourceIds[0]],
    );
    expect(sample.rows).toEqual([{ name: 'Sample_chunk_0', category: 'content_chunk' }]);
  });
});
