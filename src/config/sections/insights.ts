/** dreamAnalysis and buildMoments: how much they read, how batch mode waits, and the nightly schedule. */
import { z } from 'zod';
import type { EnvReader } from '../env-reader.js';
import { cron, intBetween, positiveInt } from '../schema.js';
import { declared, type Section } from '../variable.js';

export interface DreamConfig {
  sessionLimit: number;
  resourceLimit: number;
  windowHours: number;
  /** Batch mode: the workflow's durable timer between two polls of the OpenAI Batch. */
  batchPollSeconds: number;
  /** Batch mode: give up (job failed) when the batch is still not done after this long. */
  batchMaxWaitHours: number;
  /** dreamBatch in direct mode: child workflows running at once. */
  concurrentTenants: number;
}

export interface InsightSettings {
  /** dreamAnalysis: how much it reads and how batch mode waits (P8FS_DREAM_*). */
  dream: DreamConfig;
  /** `p8fs schedule apply`: cron of the declared schedules (src/schedules/definitions.ts), UTC. */
  schedules: { nightlyDreamsCron: string; insightsCron: string };
  /** insightsBatch (the insights schedule): model calls one tenant's moments and summary may make per run. */
  insightsRun: { modelCallsPerTenant: number };
  /** buildMoments: segments per model call, in tokens (P8FS_MOMENTS_GROUP_TOKENS); capped by the model's context. */
  moments: { groupTokens: number };
  /**
   * The per-tenant cap on LLM work a tenant (or the CLI on its behalf) starts: dream analyses and
   * transcript uploads claimed in the last hour (P8FS_LLM_JOBS_PER_TENANT_PER_HOUR; src/db/llm-claims.ts).
   */
  llmCap: { jobsPerTenantPerHour: number };
}

const INSIGHTS = {
  windowHours: {
    name: 'P8FS_DREAM_WINDOW_HOURS',
    schema: positiveInt,
    fallback: '24',
    meaning: 'what a dream reads: rows written in this many hours, newest first',
  },
  sessionLimit: {
    name: 'P8FS_DREAM_SESSION_LIMIT',
    schema: positiveInt,
    fallback: '100',
    meaning: 'what a dream reads: at most this many sessions of the window',
  },
  resourceLimit: {
    name: 'P8FS_DREAM_RESOURCE_LIMIT',
    schema: positiveInt,
    fallback: '1000',
    meaning: 'what a dream reads: at most this many resources of the window',
  },
  batchPollSeconds: {
    name: 'P8FS_DREAM_BATCH_POLL_SECONDS',
    schema: z.coerce.number().positive(),
    fallback: '60',
    meaning: "batch mode's durable-timer poll of the OpenAI Batch",
  },
  batchMaxWaitHours: {
    name: 'P8FS_DREAM_BATCH_MAX_WAIT_HOURS',
    schema: positiveInt,
    fallback: '26',
    meaning: 'batch mode gives up (the job fails) when the batch is still not done after this long',
  },
  concurrentTenants: {
    name: 'P8FS_DREAM_CONCURRENT_TENANTS',
    schema: positiveInt,
    fallback: '4',
    meaning: "dreamBatch's children at once (direct mode)",
  },
  nightlyDreamsCron: {
    name: 'P8FS_DREAM_SCHEDULE_CRON',
    schema: cron,
    fallback: '0 3 * * *',
    meaning: 'the nightly dream schedule (UTC; `p8fs schedule apply`)',
  },
  insightsCron: {
    name: 'P8FS_INSIGHTS_SCHEDULE_CRON',
    schema: cron,
    fallback: '30 3 * * *',
    meaning:
      'the nightly insights schedule: moments, the user summary and resource affinity of every tenant active in the last 24 h (UTC; `p8fs schedule apply`)',
  },
  modelCallsPerTenant: {
    name: 'P8FS_INSIGHTS_MODEL_CALLS_PER_TENANT',
    schema: intBetween(2, 100_000),
    fallback: '50',
    meaning:
      "the insights schedule's cap on model calls per tenant and run: the user summary takes one, the moments task the rest (its sources beyond wait for the next run)",
  },
  groupTokens: {
    name: 'P8FS_MOMENTS_GROUP_TOKENS',
    schema: z.coerce.number().int().min(64),
    fallback: '6000',
    meaning:
      "buildMoments: tokens of transcript segments per model call (whole segments only; never more than the model's context leaves)",
  },
  jobsPerTenantPerHour: {
    name: 'P8FS_LLM_JOBS_PER_TENANT_PER_HOUR',
    schema: intBetween(1, 1_000_000),
    fallback: '20',
    meaning:
      'LLM jobs (dream analyses, transcript uploads) one tenant may start in any hour, from the API or `p8fs dream start`; one more is a 429 naming when a slot frees',
  },
} as const;

export const INSIGHTS_SECTION: Section = {
  title: 'Insights: dreams and moments',
  about: 'What dream analysis reads and when it runs, and how moments are built (docs/INSIGHTS.md).',
  variables: declared(INSIGHTS),
};

export function readInsights(r: EnvReader): InsightSettings {
  return {
    dream: {
      sessionLimit: r.read(INSIGHTS.sessionLimit),
      resourceLimit: r.read(INSIGHTS.resourceLimit),
      windowHours: r.read(INSIGHTS.windowHours),
      batchPollSeconds: r.read(INSIGHTS.batchPollSeconds),
      batchMaxWaitHours: r.read(INSIGHTS.batchMaxWaitHours),
      concurrentTenants: r.read(INSIGHTS.concurrentTenants),
    },
    schedules: {
      nightlyDreamsCron: r.read(INSIGHTS.nightlyDreamsCron),
      insightsCron: r.read(INSIGHTS.insightsCron),
    },
    insightsRun: { modelCallsPerTenant: r.read(INSIGHTS.modelCallsPerTenant) },
    moments: { groupTokens: r.read(INSIGHTS.groupTokens) },
    llmCap: { jobsPerTenantPerHour: r.read(INSIGHTS.jobsPerTenantPerHour) },
  };
}
