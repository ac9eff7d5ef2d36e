/**
 * What `make image-test` asks of the roles running in containers, from the host the way a user would:
 * files put into the tenant's bucket with S3 alone (the filer subscriber container publishes them, the
 * bridge container routes them, a storage worker container ingests them) must end as rows; the WAV's
 * rows must hold words of its speech (transcribed offline inside a container); a dream started with the
 * CLI must be completed by the dreaming worker container; the API container must list the files to a
 * tenant key. Nothing here runs a worker: with no worker on the host, only the containers can do the work.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ensureBucket } from '../../src/clients/object-store.js';
import { createPool } from '../../src/clients/postgres.js';
import { createS3Client } from '../../src/clients/s3.js';
import type { Config } from '../../src/config/config.js';

const execFileAsync = promisify(execFile);

export interface Upload {
  file: string;
  key: string;
}

export interface FileOutcome {
  key: string;
  status: string;
  chunks: number;
  seconds: number;
  error?: string;
  text: string;
  /** The transcription engines its chunks name (metadata.section.engine), for audio. */
  engines: string[];
}

/** PutObject into the tenant's bucket, nothing else (no event published by us). */
export async function uploadWithS3(cfg: Config, tenant: string, uploads: Upload[]): Promise<void> {
  const s3 = createS3Client(cfg);
  try {
    await ensureBucket(s3, tenant);
    for (const upload of uploads)
      await s3.send(
        new PutObjectCommand({ Bucket: tenant, Key: upload.key, Body: readFileSync(upload.file) }),
      );
  } finally {
    s3.destroy();
  }
}

/** Polls the files table until every upload is completed or failed, or the deadline passes. */
export async function waitForRows(
  cfg: Config,
  tenant: string,
  uploads: Upload[],
  timeoutMs: number,
): Promise<FileOutcome[]> {
  const pool = createPool(cfg, 1);
  const started = Date.now();
  const done = new Map<string, FileOutcome>();
  try {
    while (done.size < uploads.length && Date.now() - started < timeoutMs) {
      const r = await pool.query<{
        path: string;
        status: string;
        error: string | null;
        chunks: number;
        text: string;
        engines: string[] | null;
      }>(
        `SELECT f.path, f.status, f.error,
                (SELECT count(*)::int FROM resources r WHERE r.file_id = f.id) AS chunks,
                (SELECT coalesce(string_agg(r.content, ' ' ORDER BY r.ordinal), '') FROM resources r WHERE r.file_id = f.id) AS text,
                (SELECT array_agg(DISTINCT r.metadata->'section'->>'engine') FROM resources r
                  WHERE r.file_id = f.id AND r.metadata->'section' ? 'engine') AS engines
         FROM files f WHERE f.tenant_id = $1`,
        [tenant],
      );
      for (const row of r.rows) {
        const upload = uploads.find((u) => row.path === `/buckets/${tenant}/${u.key}`);
        if (!upload || done.has(upload.key)) continue;
        if (row.status === 'completed' || row.status === 'failed')
          done.set(upload.key, {
            key: upload.key,
            status: row.status,
            chunks: row.chunks,
            seconds: (Date.now() - started) / 1000,
            error: row.error ?? undefined,
            text: row.text,
            engines: row.engines ?? [],
          });
      }
      if (done.size < uploads.length) await sleep(2000);
    }
  } finally {
    await pool.end();
  }
  return uploads.map(
    (u) =>
      done.get(u.key) ?? {
        key: u.key,
        status: 'no row in time',
        chunks: 0,
        seconds: timeoutMs / 1000,
        text: '',
        engines: [],
      },
  );
}

/** Vectors stored for the tenant's chunks, when the schema has the embeddings tables (migration 0009). */
export async function chunkVectors(
  cfg: Config,
  tenant: string,
): Promise<{ table: boolean; vectors: number; dimensions: number[] }> {
  const pool = createPool(cfg, 1);
  try {
    const table = await pool.query<{ found: boolean }>(
      `SELECT to_regclass('embeddings.resources_embeddings') IS NOT NULL AS found`,
    );
    if (!table.rows[0]?.found) return { table: false, vectors: 0, dimensions: [] };
    const r = await pool.query<{ vectors: number; dimensions: number[] }>(
      `SELECT count(*)::int AS vectors, coalesce(array_agg(DISTINCT vector_dimension), '{}') AS dimensions
       FROM embeddings.resources_embeddings WHERE tenant_id = $1`,
      [tenant],
    );
    return { table: true, vectors: r.rows[0]?.vectors ?? 0, dimensions: r.rows[0]?.dimensions ?? [] };
  } finally {
    await pool.end();
  }
}

/** Runs the host's built CLI (`node bin/p8fs.js ARGS`) with `env` over this process's environment. */
export async function cli(
  root: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 300_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('node', ['bin/p8fs.js', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr || e.message,
    };
  }
}

/** `p8fs apikey create`, then the API container's file list for that key: the names it returns. */
export async function apiListsFiles(
  root: string,
  env: Record<string, string>,
  tenant: string,
  port: number,
): Promise<{ ok: boolean; detail: string }> {
  const created = await cli(root, ['apikey', 'create', '--tenant', tenant, '--json'], env, 60_000);
  if (created.code !== 0) return { ok: false, detail: `apikey create: ${created.stderr.trim()}` };
  const { key } = JSON.parse(created.stdout) as { key: string };
  const response = await fetch(`http://127.0.0.1:${port}/v1/files`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const body = (await response.json()) as { files?: { name: string }[] };
  const names = (body.files ?? []).map((f) => f.name);
  return {
    ok: response.ok && names.length > 0,
    detail: `GET /v1/files ${response.status}: ${names.join(', ')}`,
  };
}

export const uploadName = (u: Upload) => basename(u.file);
