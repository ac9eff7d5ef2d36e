/**
 * Moment-building test helpers: the sample transcripts with the moments a person wrote for them, an
 * in-process LLM worker running the real moment activities (any LlmProvider) on a task queue of the
 * test's choice, and a minimal loopback server speaking OpenAI's chat-completions API (POST
 * /v1/chat/completions, the real request and response shapes) so the real `openai` SDK code runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { pino } from 'pino';
import type { LlmProvider } from '../../src/activities/insight/llm/types.js';
import { createMomentActivities } from '../../src/activities/insight/moment-activities.js';
import type { Config } from '../../src/config/config.js';
import { connectWorkerConnection } from '../../src/temporal/connection.js';
import type { Pipeline } from './pipeline.js';
import { SAMPLES_DIR } from './samples.js';
import { bundleWorkflows, installQuietRuntime } from './workflow-env.js';

export const MOMENTS_DIR = join(SAMPLES_DIR, 'moments');

export interface MomentSample {
  /** e.g. `transcript_2025-01-13T09-00-00Z` */
  name: string;
  input: Record<string, unknown> & { transcript_id: string };
  expected: Record<string, unknown>;
}

export function momentSamples(): MomentSample[] {
  return readdirSync(MOMENTS_DIR)
    .filter((f) => f.endsWith('_input.json'))
    .sort()
    .map((file) => {
      const name = file.replace(/_input\.json$/, '');
      const read = (suffix: string) =>
        JSON.parse(readFileSync(join(MOMENTS_DIR, `${name}${suffix}`), 'utf8'));
      return { name, input: read('_input.json'), expected: read('_expected_moment.json') };
    });
}

/**
 * The moment a person wrote for a sample, in MomentBuilder's answer shape: persons as fingerprint_id,
 * user_id ("User ID: …" in the sample's comment) and user_label.
 */
export function expectedAsAnswer(sample: MomentSample): {
  moments: Record<string, unknown>[];
  analysis_summary: string;
} {
  // biome-ignore lint/suspicious/noExplicitAny: the sample's JSON, read field by field as written
  const e = sample.expected as Record<string, any>;
  return {
    moments: [
      {
        name: e.name,
        content: e.content,
        summary: e.summary,
        category: e.category,
        resource_timestamp: e.resource_timestamp,
        resource_ends_timestamp: e.resource_ends_timestamp,
        moment_type: e.moment_type,
        emotion_tags: e.emotion_tags,
        topic_tags: e.topic_tags,
        present_persons: (e.present_persons as { id: string; name: string; comment: string }[]).map((p) => ({
          fingerprint_id: p.id,
          user_id: p.comment.replace(/^User ID: /, ''),
          user_label: p.name,
        })),
        location: e.location,
        background_sounds: e.background_sounds,
      },
    ],
    analysis_summary: `One ${e.moment_type}: ${e.summary}`,
  };
}

let bundle: ReturnType<typeof bundleWorkflows> | undefined;

export interface RunningWorker {
  taskQueue: string;
  stop(): Promise<void>;
}

/** The real moment activities with `llm`, polling `taskQueue` in this process (workflows bundled once). */
export async function startMomentsWorker(
  p: Pipeline,
  taskQueue: string,
  llm: LlmProvider,
  cfg: Config = p.cfg,
): Promise<RunningWorker> {
  installQuietRuntime();
  bundle ??= bundleWorkflows();
  const connection = await connectWorkerConnection(cfg);
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue,
    workflowBundle: await bundle,
    activities: createMomentActivities({ cfg, pool: p.pool, s3: p.s3, llm, log: pino({ level: 'silent' }) }),
  });
  const running = worker.run();
  return {
    taskQueue,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  response_format?: { type: string; json_schema?: { name: string; strict?: boolean; schema: unknown } };
}

export interface LoopbackOpenAi {
  /** Base URL for the SDK, ending in /v1. */
  baseUrl: string;
  requests: ChatRequest[];
  close(): Promise<void>;
}

/**
 * POST /v1/chat/completions answered by `answer(request)` (a JSON value sent as the message content);
 * every request is recorded. Anything else is a 404 in OpenAI's error shape.
 */
export async function startLoopbackOpenAi(
  answer: (request: ChatRequest) => unknown,
): Promise<LoopbackOpenAi> {
  const requests: ChatRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.statusCode = 404;
        res.end(
          JSON.stringify({
            error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' },
          }),
        );
        return;
      }
      const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
      requests.push(request);
      const content = JSON.stringify(answer(request));
      res.end(
        JSON.stringify({
          id: `chatcmpl-loopback-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content, refusal: null },
              logprobs: null,
              finish_reason: 'stop',
            },
          ],
          usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
