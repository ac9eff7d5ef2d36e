/**
 * buildMoments on the real test stack (Temporal, PostgreSQL, S3, NATS) with the real moment activities
 * in an in-process LLM worker: the five sample transcripts with the heuristic provider (rows checked
 * field by field), small groups merged across borders, the OpenAI backend against a loopback server
 * (a speaker who is not in the transcript is re-asked, then fails clearly; a good answer is stored), and
 * a transcript uploaded under transcripts/ routed by the bridge.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLlmProvider } from '../../src/activities/insight/llm/index.js';
import { loadMoments, type MomentRow } from '../../src/activities/insight/moment-store.js';
import { runMomentsDemo } from '../../src/cli/demo-moments.js';
import { buildProgram } from '../../src/cli/program.js';
import { momentIdFor } from '../../src/domain/insight/moment-ids.js';
import { MOMENT_TYPES, type MomentContext, validateMoment } from '../../src/domain/insight/moment-model.js';
import { readMomentBuilderOutput } from '../../src/domain/insight/moment-output.js';
import { parseTranscript, type Transcript } from '../../src/domain/insight/transcript.js';
import { llmTaskQueue } from '../../src/temporal/names.js';
import { buildMomentsHandle, startBuildMoments } from '../../src/temporal/starts.js';
import {
  expectedAsAnswer,
  type LoopbackOpenAi,
  MOMENTS_DIR,
  type MomentSample,
  momentSamples,
  type RunningWorker,
  startLoopbackOpenAi,
  startMomentsWorker,
} from '../support/moments.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

const samples = momentSamples();
const byName = (part: string) => samples.find((s) => s.name.includes(part)) as MomentSample;
const STANDUP = byName('09-00-00');
const REVIEW = byName('2025-01-15');

let p: Pipeline;
let loopback: LoopbackOpenAi;
const workers: RunningWorker[] = [];
const queue = (label: string) => `${p.cfg.temporal.taskQueuePrefix}-${label}`;

beforeAll(async () => {
  p = await createPipeline('moments');
  // The model a person would be: the samples' own moments, except for the standup, where it names a
  // speaker the transcript does not have, every time it is asked.
  loopback = await startLoopbackOpenAi((request) => {
    const prompt = request.messages.map((m) => m.content).join('\n');
    if (prompt.includes(STANDUP.input.transcript_id)) {
      const answer = expectedAsAnswer(STANDUP);
      (answer.moments[0] as { present_persons: unknown[] }).present_persons.push({
        fingerprint_id: 'fp_bob_t9',
        user_id: 'user_bob_009',
        user_label: 'Bob',
      });
      return answer;
    }
    return expectedAsAnswer(samples.find((s) => prompt.includes(s.input.transcript_id)) as MomentSample);
  });
  const openai = createLlmProvider({
    ...p.cfg,
    llm: {
      ...p.cfg.llm,
      provider: 'openai',
      openaiApiKey: 'loopback-key',
      openaiBaseUrl: loopback.baseUrl,
      model: 'gpt-4.1-mini',
      schemaRetries: 1,
    },
  });
  const heuristic = createLlmProvider({ ...p.cfg, llm: { ...p.cfg.llm, provider: 'heuristic' } });
  const small = { ...p.cfg, moments: { groupTokens: 150 } };
  workers.push(
    ...(await Promise.all([
      startMomentsWorker(p, llmTaskQueue(p.cfg), heuristic),
      startMomentsWorker(p, queue('llm-small-groups'), heuristic, small),
      startMomentsWorker(p, queue('llm-openai'), openai),
    ])),
  );
});

afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await loopback?.close();
  await p?.close();
});

function contextOf(t: Transcript): MomentContext {
  return { speakers: t.speakers, groupSpeakers: t.speakers, windowStartMs: t.startMs, windowEndMs: t.endMs };
}

/** Every stored row of a transcript checked field by field against the transcript it came from. */
function checkRows(rows: MomentRow[], t: Transcript, tenant: string, generatedBy: string): void {
  expect(rows.length).toBeGreaterThan(0);
  const named = new Set<string>();
  rows.forEach((row, ordinal) => {
    expect(row.id).toBe(momentIdFor(tenant, t.transcript_id as string, ordinal));
    expect(row.ordinal).toBe(ordinal);
    expect(row.tenant_id).toBe(tenant);
    const { id: _id, tenant_id: _tenant, ordinal: _ordinal, ...moment } = row;
    // Schema-valid as a whole moment of this transcript: persons, times, tags, type.
    validateMoment(moment, contextOf(t), `row ${ordinal}`);
    const start = Date.parse(row.resource_timestamp);
    const end = Date.parse(row.resource_ends_timestamp);
    expect(start).toBeGreaterThanOrEqual(t.startMs);
    expect(end).toBeLessThanOrEqual(t.endMs);
    expect(end).toBeGreaterThanOrEqual(start);
    expect(MOMENT_TYPES).toContain(row.moment_type);
    expect(row.emotion_tags.length).toBeGreaterThanOrEqual(2);
    expect(row.emotion_tags.length).toBeLessThanOrEqual(4);
    expect(row.topic_tags.length).toBeGreaterThanOrEqual(3);
    expect(row.topic_tags.length).toBeLessThanOrEqual(7);
    for (const tag of row.topic_tags) expect(tag).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    for (const person of row.present_persons) {
      const speaker = t.speakers.find((s) => s.fingerprint_id === person.fingerprint_id);
      expect(speaker, `row ${ordinal} names ${person.fingerprint_id}`).toBeDefined();
      expect(person).toEqual({
        fingerprint_id: speaker?.fingerprint_id,
        user_id: speaker?.user_id,
        user_label: speaker?.user_label,
      });
      named.add(person.fingerprint_id);
    }
    for (const speaker of row.speakers)
      expect(t.speakers.map((s) => s.speaker_id)).toContain(speaker.speaker_id);
    expect(row.uri).toBe(t.source_uri);
    expect(row.location).toBe(t.environment.location);
    expect(row.metadata).toMatchObject({
      generated_by: generatedBy,
      transcript_ref: t.transcript_id,
      // The seeds' metadata: the transcript's id and the moment's length.
      transcript_id: t.transcript_id,
      duration_seconds: (end - start) / 1000,
    });
    if (generatedBy === 'heuristic') {
      expect(row.metadata.heuristic).toBe(true);
      expect(row.summary).toMatch(/^Heuristic/);
    }
  });
  // Only, and all of, the transcript's speakers.
  expect([...named].sort()).toEqual(t.speakers.map((s) => s.fingerprint_id).sort());
}

async function run(tenant: string, sample: MomentSample, taskQueue: string) {
  const handle = await startBuildMoments(
    p.temporal,
    { tenantId: tenant, transcript: sample.input, source: 'test' },
    { taskQueue, workflowId: `moments-test/${tenant}/${sample.name}/${randomBytes(3).toString('hex')}` },
  );
  return handle.result();
}

describe('buildMoments with the heuristic provider', () => {
  it('stores, for each sample transcript, moments naming only and all of its speakers inside its time range', async () => {
    const tenant = uniqueTenant('moments');
    const outcomes = await Promise.all(samples.map((s) => run(tenant, s, llmTaskQueue(p.cfg))));
    for (const [i, sample] of samples.entries()) {
      const t = parseTranscript(sample.input);
      const outcome = outcomes[i];
      expect(outcome).toMatchObject({ status: 'completed', provider: 'heuristic', groups: 1, replaced: 0 });
      const rows = await loadMoments(p.pool, tenant, t.transcript_id);
      expect(rows).toHaveLength(outcome?.moments ?? -1);
      checkRows(rows, t, tenant, 'heuristic');
    }
    // Each run's jobs row holds its MomentBuilder output (the seeds' shape) and the rows' ids.
    const jobs = await p.pool.query<{ status: string; result: Record<string, unknown> }>(
      `SELECT status, result FROM jobs WHERE tenant_id = $1 AND job_type = 'build_moments' ORDER BY workflow_id`,
      [tenant],
    );
    expect(jobs.rows).toHaveLength(samples.length);
    for (const job of jobs.rows) {
      expect(job.status).toBe('completed');
      const output = readMomentBuilderOutput(job.result, 'jobs.result');
      expect(output.total_moments).toBe(output.moments.length);
      expect(output.analysis_summary).toMatch(/^Heuristic/);
      const transcriptId = output.moments[0]?.metadata?.transcript_id as string;
      const rows = await loadMoments(p.pool, tenant, transcriptId);
      expect(job.result.moment_ids).toEqual(rows.map((r) => r.id));
    }
    // Again: the same rows replaced (deterministic ids), never duplicated.
    const again = await run(tenant, STANDUP, llmTaskQueue(p.cfg));
    expect(again.replaced).toBe(again.moments);
    const all = await p.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM moments WHERE tenant_id = $1',
      [tenant],
    );
    expect(all.rows[0]?.n).toBe(outcomes.reduce((n, o) => n + o.moments, 0));
  });

  it('fails an invalid transcript at once, naming the field and the segment, with an errors row', async () => {
    const tenant = uniqueTenant('momentinvalid');
    const input = structuredClone(STANDUP.input) as unknown as { segments: { speaker_id: string }[] };
    (input.segments[2] as { speaker_id: string }).speaker_id = 'speaker_7';
    const started = Date.now();
    const failure = await run(
      tenant,
      { ...STANDUP, input: input as unknown as MomentSample['input'] },
      llmTaskQueue(p.cfg),
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as Error & { type?: string };
    expect(cause.type).toBe('InvalidTranscriptError');
    expect(cause.message).toContain(
      'transcript segments[2].speaker_id: "speaker_7" is not in the speakers list',
    );
    // Not retried: far below the first retry interval's worth of attempts.
    expect(Date.now() - started).toBeLessThan(10_000);
    const errors = await p.pool.query<{ message: string }>(
      'SELECT message FROM errors WHERE tenant_id = $1',
      [tenant],
    );
    expect(errors.rows.map((r) => r.message)).toEqual([
      expect.stringMatching(/^InvalidTranscriptError: .*segments\[2\]/),
    ]);
    const jobs = await p.pool.query('SELECT job_type, status, error, result FROM jobs WHERE tenant_id = $1', [
      tenant,
    ]);
    expect(jobs.rows).toEqual([
      {
        job_type: 'build_moments',
        status: 'failed',
        error: expect.stringMatching(/^InvalidTranscriptError: .*segments\[2\]/),
        result: null,
      },
    ]);
  });

  it('splits a transcript into token-bounded groups, one call each, and merges moments across borders', async () => {
    const tenant = uniqueTenant('momentgroups');
    const outcome = await run(tenant, REVIEW, queue('llm-small-groups'));
    expect(outcome.groups).toBeGreaterThan(2);
    expect(outcome.merged).toBeGreaterThan(0);
    const t = parseTranscript(REVIEW.input);
    const rows = await loadMoments(p.pool, tenant, t.transcript_id);
    expect(rows).toHaveLength(outcome.moments);
    checkRows(rows, t, tenant, 'heuristic');
    // The moments tile the transcript in order.
    expect(rows[0]?.resource_timestamp).toBe(t.start_timestamp);
    expect(rows.at(-1)?.resource_ends_timestamp).toBe(t.end_timestamp);
  });
});

describe('buildMoments with the OpenAI backend (loopback OpenAI server)', () => {
  it('loopback: an answer naming a speaker not in the transcript is re-asked, then the run fails clearly', async () => {
    const tenant = uniqueTenant('momentbad');
    const before = loopback.requests.length;
    const failure = await run(tenant, STANDUP, queue('llm-openai')).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as Error & { type?: string };
    expect(cause.type ?? cause.name).toBe('SchemaViolationError');
    expect(cause.message).toMatch(
      /present_persons\[3\]\.fingerprint_id: "fp_bob_t9" is not a speaker of this transcript/,
    );
    // Asked once, re-asked once (P8FS_LLM_SCHEMA_RETRIES=1), with the problem in the re-ask.
    const asked = loopback.requests
      .slice(before)
      .filter((r) => JSON.stringify(r).includes(STANDUP.input.transcript_id));
    expect(asked).toHaveLength(2);
    expect(asked[0]?.response_format?.json_schema?.strict).toBe(true);
    expect(asked[1]?.messages.at(-1)?.content).toContain('fp_bob_t9');
    expect(await loadMoments(p.pool, tenant)).toHaveLength(0);
    const errors = await p.pool.query<{ process: string; message: string }>(
      'SELECT process, message FROM errors WHERE tenant_id = $1',
      [tenant],
    );
    expect(errors.rows).toEqual([
      { process: 'buildMoments', message: expect.stringMatching(/^SchemaViolationError: .*fp_bob_t9/) },
    ]);
  });

  it('loopback: a good answer (the moment a person wrote) is stored as given', async () => {
    const tenant = uniqueTenant('momentgood');
    const outcome = await run(tenant, REVIEW, queue('llm-openai'));
    expect(outcome).toMatchObject({
      status: 'completed',
      provider: 'openai',
      model: 'gpt-4.1-mini',
      moments: 1,
    });
    const t = parseTranscript(REVIEW.input);
    const rows = await loadMoments(p.pool, tenant, t.transcript_id);
    checkRows(rows, t, tenant, 'openai');
    const [given] = expectedAsAnswer(REVIEW).moments;
    const [row] = rows;
    for (const field of Object.keys(given as object))
      expect(row?.[field as keyof MomentRow], field).toEqual((given as Record<string, unknown>)[field]);
  });
});

describe('transcripts uploaded under transcripts/', () => {
  it('start buildMoments through the bridge (deduplicated like ingestion) and end as moments rows', async () => {
    const tenant = uniqueTenant('momentbridge');
    const sample = byName('2025-01-14');
    const key = `transcripts/${sample.name}.json`;
    await p.putObject(tenant, key, JSON.stringify(sample.input), 'application/json');
    await p.startBridge();
    const event = { event_type: 'create', path: `/buckets/${tenant}/${key}` };
    await p.publish(event);
    const started = await eventually('the bridge to start buildMoments', async () =>
      p.results.find((r) => r.kind === 'started' && r.event.tenantId === tenant),
    );
    expect(started).toMatchObject({
      kind: 'started',
      taskQueue: llmTaskQueue(p.cfg),
      workflowId: expect.stringMatching(new RegExp(`^moments/${tenant}/transcripts/.*\\.json@`)),
    });
    const workflowId = (started as { workflowId: string }).workflowId;
    const outcome = await buildMomentsHandle(p.temporal, workflowId).result();
    expect(outcome).toMatchObject({ status: 'completed', provider: 'heuristic' });
    const t = parseTranscript(sample.input);
    const rows = await loadMoments(p.pool, tenant, t.transcript_id);
    checkRows(rows, t, tenant, 'heuristic');
    expect(rows[0]?.metadata.transcript_uri).toBe(`s3://${tenant}/${key}`);
    // The same event again: the same workflow id, so nothing runs twice.
    await p.publish(event);
    const duplicate = await eventually('the duplicate to be settled', async () =>
      p.results.find((r) => r.kind === 'deduplicated' && r.workflowId === workflowId),
    );
    expect(duplicate.kind).toBe('deduplicated');
    const files = await p.pool.query('SELECT 1 FROM files WHERE tenant_id = $1', [tenant]);
    expect(files.rowCount).toBe(0);

    // Only .json files under transcripts/ are transcripts: the same JSON elsewhere, or a text file under
    // transcripts/, is ingested as before (no storage worker runs here: the runs are ended by hand).
    await p.putObject(tenant, 'uploads/standup.json', JSON.stringify(sample.input), 'application/json');
    await p.putObject(tenant, 'transcripts/notes.txt', 'notes', 'text/plain');
    for (const key of ['uploads/standup.json', 'transcripts/notes.txt']) {
      await p.publish({ event_type: 'create', path: `/buckets/${tenant}/${key}` });
      const routed = await eventually(`the bridge to route ${key}`, async () =>
        p.results.find((r) => r.kind === 'started' && r.event.key === key && r.event.tenantId === tenant),
      );
      expect(routed).toMatchObject({
        taskQueue: `${p.cfg.temporal.taskQueuePrefix}-storage-small`,
        workflowId: expect.stringMatching(/^ingest-create\//),
      });
      await p.temporal.workflow
        .getHandle((routed as { workflowId: string }).workflowId)
        .terminate('routing test: no storage worker runs here');
    }
  });
});

describe('a deleted transcript', () => {
  it('takes its moments along: DeleteObject + the delete event → the moments rows are gone', async () => {
    const tenant = uniqueTenant('momentdelete');
    const sample = byName('2025-01-14');
    const key = `transcripts/${sample.name}.json`;
    await p.putObject(tenant, key, JSON.stringify(sample.input), 'application/json');
    if (!p.bridge) await p.startBridge();
    // No metrics port: this test file's LLM worker installed the Temporal runtime already.
    await p.startWorkers(['small']);
    await p.publish({ event_type: 'create', path: `/buckets/${tenant}/${key}` });
    const t = parseTranscript(sample.input);
    await eventually('the moments to be stored', async () =>
      (await loadMoments(p.pool, tenant, t.transcript_id)).length > 0 ? true : undefined,
    );
    // Another tenant's moments of the same transcript stay (the delete is scoped to the object).
    await p.s3.send(new DeleteObjectCommand({ Bucket: tenant, Key: key }));
    await p.publish({ event_type: 'delete', path: `/buckets/${tenant}/${key}` });
    await eventually('the moments to be removed', async () =>
      (await loadMoments(p.pool, tenant, t.transcript_id)).length === 0 ? true : undefined,
    );
  }, 120_000);
});

describe('p8fs eval and the demo step', () => {
  it('loopback: `p8fs eval --agent-model MomentBuilder --provider openai --model M` prints the validated moments', async () => {
    const before = loopback.requests.length;
    // The real command, in this process (a child process through tsx costs ~20 s on a busy machine).
    const printed: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    const progress = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.stubEnv('OPENAI_API_KEY', 'loopback-key');
    vi.stubEnv('P8FS_OPENAI_BASE_URL', loopback.baseUrl);
    try {
      await buildProgram().parseAsync([
        'node',
        'p8fs',
        'eval',
        '--agent-model',
        'MomentBuilder',
        '--file',
        join(MOMENTS_DIR, `${REVIEW.name}_input.json`),
        '--provider',
        'openai',
        '--model',
        'loopback-model-1',
        '--format',
        'json',
      ]);
    } finally {
      write.mockRestore();
      progress.mockRestore();
      vi.unstubAllEnvs();
    }
    const output = JSON.parse(printed.join(''));
    expect(output).toMatchObject({
      agent_model: 'MomentBuilder',
      provider: 'openai',
      model: 'loopback-model-1',
    });
    expect(loopback.requests.slice(before).map((r) => r.model)).toEqual(['loopback-model-1']);
    const t = parseTranscript(REVIEW.input);
    validateMoment(output.moments[0], contextOf(t));
    expect(output.moments[0].name).toBe(REVIEW.expected.name);
    expect(output.moments[0].metadata).toMatchObject({ generated_by: 'openai', model: 'loopback-model-1' });
  });

  it('runMomentsDemo builds every sample transcript and says what it found', async () => {
    const lines: string[] = [];
    const tenant = uniqueTenant('momentdemo');
    const ok = await runMomentsDemo({
      cfg: p.cfg,
      client: p.temporal,
      say: (l) => lines.push(l),
      tenantId: tenant,
    });
    expect(ok, lines.join('\n')).toBe(true);
    expect(lines.filter((l) => l.startsWith('✓ moments:'))).toHaveLength(samples.length);
    expect(lines.join('\n')).toContain('persons: Alex, Jordan, Sam');
    // A second run follows the first run's workflows: nothing is built again.
    const again: string[] = [];
    expect(
      await runMomentsDemo({ cfg: p.cfg, client: p.temporal, say: (l) => again.push(l), tenantId: tenant }),
    ).toBe(true);
    expect(again.filter((l) => l.includes('already built by an earlier run'))).toHaveLength(samples.length);
  });
});
