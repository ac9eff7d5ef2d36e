/**
 * After the soak: every upload accounted for (its files row completed or failed with an error, or a dead
 * letter with a reason), and the checks that no fault left damage: duplicate rows, orphan rows (and
 * orphan vectors when embeddings.resources_embeddings exists), files stuck pending or processing,
 * workflows still running, events not yet taken by the bridge. `classify` is pure (unit-tested); the rest
 * reads PostgreSQL, NATS and Temporal.
 */
import { createHash } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type pg from 'pg';
import { connectNats } from '../../../src/clients/nats.js';
import type { Config } from '../../../src/config/config.js';
import { listDeadLetters } from '../../../src/events/dead-letter-queue.js';
import { streamStats } from '../../../src/events/stream-stats.js';
import { connectTemporal } from '../../../src/temporal/connection.js';

export type Outcome =
  | 'completed'
  | 'failed'
  | 'dead-lettered'
  | 'refused at upload'
  | 'never uploaded'
  | 'in progress'
  | 'stuck'
  | 'missing';

/** Outcomes that count as a miss: the upload's fate is unknown or unfinished. */
export const MISSES: readonly Outcome[] = ['never uploaded', 'in progress', 'stuck', 'missing'];

export interface Expected {
  tenant: string;
  key: string;
  /** The PUT succeeded (else: refused, or never accepted before the client gave up). */
  uploaded: boolean;
  /** S3 refused the PUT for good, or the API answered an error: the client was told it failed. */
  refused?: string;
}

export interface FileRow {
  tenant_id: string;
  path: string;
  status: string;
  error: string | null;
}

export interface Accounted {
  expected: Expected;
  outcome: Outcome;
  /** The failure or dead-letter reason, when there is one. */
  reason?: string;
}

/** The file path the product derives from a bucket and key (NFC: the names wall may normalise). */
export function pathOf(tenant: string, key: string): string {
  return `/buckets/${tenant}/${key}`;
}

function variants(path: string): string[] {
  return [...new Set([path, path.normalize('NFC')])];
}

/**
 * Each upload's outcome from the files rows and the dead letters' paths and reasons. A failed row
 * without an error text counts as missing: "failed" must say why.
 */
export function classify(
  expected: Expected[],
  rows: FileRow[],
  letters: Array<{ path: string; reason: string }>,
  running: Set<string> = new Set(),
): Accounted[] {
  const byPath = new Map(rows.map((r) => [r.path, r]));
  const lettersByPath = new Map<string, string>();
  for (const l of letters) for (const p of variants(l.path)) lettersByPath.set(p, l.reason);
  return expected.map((e) => {
    const paths = variants(pathOf(e.tenant, e.key));
    const row = paths.map((p) => byPath.get(p)).find((r) => r !== undefined);
    if (row?.status === 'completed') return { expected: e, outcome: 'completed' };
    if (row?.status === 'failed' && row.error) return { expected: e, outcome: 'failed', reason: row.error };
    const letter = paths.map((p) => lettersByPath.get(p)).find((r) => r !== undefined);
    if (letter) return { expected: e, outcome: 'dead-lettered', reason: letter };
    // A workflow still runs for it: not drained yet, which differs from a row no workflow will finish.
    if (isRunning(running, e))
      return { expected: e, outcome: 'in progress', reason: row ? `files row ${row.status}` : 'queued' };
    if (row)
      return {
        expected: e,
        outcome: 'stuck',
        reason: `files row ${row.status}${row.error ? `: ${row.error}` : ''}`,
      };
    // Refused, and nothing of it arrived (an API upload answered 500 may still have been stored: then
    // it is accounted by its row above, like any other).
    if (e.refused) return { expected: e, outcome: 'refused at upload', reason: e.refused };
    if (!e.uploaded) return { expected: e, outcome: 'never uploaded' };
    return { expected: e, outcome: 'missing' };
  });
}

/** `{tenant}/{key}` of ingestFile workflow ids (`ingest-{type}/{tenant}/{key}@{version}`, src/domain/ids.ts). */
export function workflowIdKey(workflowId: string): string | undefined {
  const match = /^ingest-[a-z]+\/(.+)@[^@]*$/s.exec(workflowId);
  return match?.[1];
}

/** Whether a workflow still runs for the upload: by its key, or the hashed forms long keys get. */
function isRunning(running: Set<string>, e: Expected): boolean {
  if (running.size === 0) return false;
  const hash = createHash('sha256').update(e.key, 'utf8').digest('hex').slice(0, 32);
  const name = e.key.split('/').at(-1) ?? '';
  return [e.key, hash, `${hash}/${name}`].some((k) => running.has(`${e.tenant}/${k}`));
}

export async function runningIngestKeys(cfg: Config): Promise<Set<string>> {
  const client = await connectTemporal(cfg);
  const keys = new Set<string>();
  try {
    for await (const wf of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
      const key = workflowIdKey(wf.workflowId);
      if (key) keys.add(key);
    }
  } finally {
    await client.connection.close();
  }
  return keys;
}

export function countOutcomes(accounted: Accounted[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = {
    completed: 0,
    failed: 0,
    'dead-lettered': 0,
    'refused at upload': 0,
    'never uploaded': 0,
    'in progress': 0,
    stuck: 0,
    missing: 0,
  };
  for (const a of accounted) counts[a.outcome]++;
  return counts;
}

export async function fileRows(pool: pg.Pool): Promise<FileRow[]> {
  const { rows } = await pool.query<FileRow>('SELECT tenant_id, path, status, error FROM files');
  return rows;
}

export async function deadLetterPaths(cfg: Config): Promise<Array<{ path: string; reason: string }>> {
  const nc = await connectNats(cfg, 'soak-accounting');
  try {
    const letters = await listDeadLetters(await jetstreamManager(nc), cfg, 1_000_000);
    return letters.map(({ letter }) => {
      let path = '';
      try {
        path = String((JSON.parse(letter.payload ?? '{}') as { path?: unknown }).path ?? '');
      } catch {
        path = '';
      }
      return { path, reason: letter.reason };
    });
  } finally {
    await nc.close();
  }
}

export interface Damage {
  duplicateFiles: number;
  duplicateChunks: number;
  /** Completed files whose chunk_count differs from their resources rows. */
  chunkCountMismatch: number;
  orphanChunks: number;
  /** Resources rows of files that are not completed (a failed file must leave nothing searchable). */
  chunksOfUnfinished: number;
  /** Files rows for paths nobody uploaded, and the first few of them. */
  unexpectedFiles: number;
  unexpectedPaths: string[];
  /** Files rows of the parts the product splits out of an upload (`<key>.parts/…`: e-mail attachments). */
  partFiles: number;
  /** null when embeddings.resources_embeddings does not exist. */
  orphanVectors: number | null;
  duplicateVectors: number | null;
  /**
   * Completed files whose chunks still wait for vectors once nothing runs (embedding_status NULL: the
   * embed step's work lost), and those whose embedding failed (with embedding_error, counted, not a miss);
   * null without the column or with embedding off.
   */
  filesNotEmbedded: number | null;
  filesEmbeddingFailed: number | null;
  filesPendingOrProcessing: number;
}

/** An uploaded path, or a part the product stored beside one (`<uploaded key>.parts/<name>`). */
export function uploadedOrPart(expected: Set<string>, path: string): boolean {
  if (expected.has(path)) return true;
  const at = path.lastIndexOf('.parts/');
  return at > 0 && expected.has(path.slice(0, at));
}

async function one(pool: pg.Pool, sql: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(sql);
  return Number(rows[0]?.n ?? 0);
}

/** `embedding`: whether the soak's processes embed (SOAK_EMBEDDINGS); off, no file is expected to have vectors. */
export async function damage(
  pool: pg.Pool,
  expectedPaths: Set<string>,
  rows: FileRow[],
  embedding: boolean,
): Promise<Damage> {
  const vectors = await one(
    pool,
    "SELECT count(*) AS n FROM pg_class WHERE oid = to_regclass('embeddings.resources_embeddings')",
  );
  const embeddingColumn = embedding
    ? await one(
        pool,
        "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'files' AND column_name = 'embedding_status'",
      )
    : 0;
  const expected = new Set([...expectedPaths].flatMap(variants));
  return {
    duplicateFiles: await one(
      pool,
      'SELECT count(*) AS n FROM (SELECT 1 FROM files GROUP BY tenant_id, uri HAVING count(*) > 1) d',
    ),
    duplicateChunks: await one(
      pool,
      'SELECT count(*) AS n FROM (SELECT 1 FROM resources GROUP BY file_id, ordinal HAVING count(*) > 1) d',
    ),
    chunkCountMismatch: await one(
      pool,
      `SELECT count(*) AS n FROM files f WHERE f.status = 'completed'
         AND coalesce(f.chunk_count, 0) <> (SELECT count(*) FROM resources r WHERE r.file_id = f.id)`,
    ),
    orphanChunks: await one(
      pool,
      'SELECT count(*) AS n FROM resources r WHERE r.file_id IS NULL OR NOT EXISTS (SELECT 1 FROM files f WHERE f.id = r.file_id)',
    ),
    chunksOfUnfinished: await one(
      pool,
      "SELECT count(*) AS n FROM resources r JOIN files f ON f.id = r.file_id WHERE f.status <> 'completed'",
    ),
    unexpectedFiles: rows.filter((r) => !uploadedOrPart(expected, r.path)).length,
    unexpectedPaths: rows
      .filter((r) => !uploadedOrPart(expected, r.path))
      .slice(0, 5)
      .map((r) => r.path),
    partFiles: rows.filter((r) => !expected.has(r.path) && uploadedOrPart(expected, r.path)).length,
    orphanVectors:
      vectors === 0
        ? null
        : await one(
            pool,
            'SELECT count(*) AS n FROM embeddings.resources_embeddings e WHERE NOT EXISTS (SELECT 1 FROM resources r WHERE r.id = e.entity_id)',
          ),
    duplicateVectors:
      vectors === 0
        ? null
        : await one(
            pool,
            `SELECT count(*) AS n FROM (SELECT 1 FROM embeddings.resources_embeddings
               GROUP BY entity_id, field_name, embedding_provider HAVING count(*) > 1) d`,
          ),
    // A completed file with no chunk has nothing to embed; the step still marks it done.
    filesNotEmbedded:
      embeddingColumn === 0
        ? null
        : await one(
            pool,
            "SELECT count(*) AS n FROM files WHERE status = 'completed' AND embedding_status IS NULL",
          ),
    filesEmbeddingFailed:
      embeddingColumn === 0
        ? null
        : await one(pool, "SELECT count(*) AS n FROM files WHERE embedding_status = 'failed'"),
    filesPendingOrProcessing: rows.filter((r) => r.status === 'pending' || r.status === 'processing').length,
  };
}

export interface Backlog {
  runningWorkflows: number;
  eventsNotTaken: number;
  eventsInFlight: number;
  deadLetters: number;
}

export async function backlog(cfg: Config): Promise<Backlog> {
  const client = await connectTemporal(cfg);
  const nc = await connectNats(cfg, 'soak-backlog');
  try {
    const running = await client.workflow.count('ExecutionStatus="Running"');
    const stats = await streamStats(await jetstreamManager(nc), cfg);
    return {
      runningWorkflows: running.count,
      eventsNotTaken: stats.bridgeConsumer?.pending ?? 0,
      eventsInFlight: stats.bridgeConsumer?.ackPending ?? 0,
      deadLetters: stats.deadLetters?.messages ?? 0,
    };
  } finally {
    await nc.close();
    await client.connection.close();
  }
}
