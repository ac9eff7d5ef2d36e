/**
 * Dream analysis activities (task queue p8fs-llm). prepareDream reads and packs the tenant's sessions
 * and resources into S3; analyzeDreamDirect calls the model and stores the dream; submit/poll/collect
 * drive an OpenAI Batch whose waiting happens in the workflow, on durable timers. Idempotent: ids are
 * derived from the workflow id and tenant, a retried submit reuses its round's batch, stores replace.
 */
import { Context } from '@temporalio/activity';
import { getJson, putJson } from '../../clients/object-store.js';
import { LlmProviderUnavailableError } from '../../domain/errors.js';
import { P8FS_NAMESPACE, uuidV5 } from '../../domain/ids.js';
import type {
  BatchPoll,
  CollectedBatch,
  DreamSummary,
  PrepareDreamInput,
  PreparedDream,
  SubmittedBatch,
} from '../../domain/insight/dream-analysis.js';
import { heuristicDream } from '../../domain/insight/dream-heuristic.js';
import {
  DREAM_SYSTEM_PROMPT,
  dreamUserPrompt,
  packSources,
  promptOverheadTokens,
  sourceBudget,
} from '../../domain/insight/dream-input.js';
import {
  DREAM_MODEL_SCHEMA,
  type DreamModel,
  validateDreamModel,
  withKnownFacts,
} from '../../domain/insight/dream-model.js';
import type { InsightDeps } from './deps.js';
import { OpenAiBatches } from './dream-batch.js';
import {
  factsOf,
  type PackedFile,
  storeBatchLine,
  storeDreamModel,
  DREAM_TASK as TASK,
} from './dream-finish.js';
import {
  batchOfRound,
  completeSkippedJob,
  failJobs,
  markJobsRunning,
  readDreamSources,
  upsertQueuedJob,
} from './dream-store.js';
import type { LlmMessage, StructuredRequest } from './llm/types.js';

function workflowOf(): { workflowId: string; runId: string; workflowType: string } {
  const { workflowExecution, workflowType } = Context.current().info;
  if (!workflowExecution) throw new Error('dream activities run inside a workflow');
  return { ...workflowExecution, workflowType: workflowType ?? '' };
}

/** The job's workflow key: the workflow id, or id#tenant when one workflow serves many tenants. */
function jobWorkflowKey(tenantId: string): string {
  const { workflowId, workflowType } = workflowOf();
  return workflowType === 'dreamAnalysis' ? workflowId : `${workflowId}#${tenantId}`;
}

function messagesFor(packed: PackedFile): LlmMessage[] {
  return [
    { role: 'system', content: DREAM_SYSTEM_PROMPT },
    { role: 'user', content: dreamUserPrompt(packed) },
  ];
}

/** Heartbeats every few seconds while `work` runs (a model call may take minutes without progress). */
async function heartbeating<T>(details: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(details);
  const timer = setInterval(() => ctx.heartbeat(details), 5000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

export function createDreamActivities(deps: InsightDeps) {
  const { cfg, pool, s3, llm } = deps;
  const bucket = cfg.s3.derivedBucket;

  function store(
    prepared: PreparedDream,
    model: DreamModel,
    provider: string,
    modelName: string,
    schemaRetries: number,
  ): Promise<DreamSummary> {
    const ctx = { pool, workflowId: workflowOf().workflowId, provider, modelName, schemaRetries };
    return storeDreamModel(ctx, prepared, model);
  }

  function batches(): OpenAiBatches {
    if (llm.name !== 'openai') {
      throw new LlmProviderUnavailableError(
        `dream batch mode needs the OpenAI Batch API, but the configured provider is ${llm.name} (P8FS_LLM_PROVIDER); use --mode direct, or set OPENAI_API_KEY / P8FS_LLM_PROVIDER=openai`,
      );
    }
    return new OpenAiBatches(cfg.llm, llm.model);
  }

  return {
    /** Reads the tenant's recent sessions and resources, packs them to the model's context, writes them to S3. */
    async prepareDream(input: PrepareDreamInput): Promise<PreparedDream> {
      const { workflowId, runId } = workflowOf();
      const windowHours = input.windowHours ?? cfg.dream.windowHours;
      const until = new Date(input.until);
      const since = new Date(until.getTime() - windowHours * 3600_000).toISOString();
      const analysisId = uuidV5(`dream:${workflowId}:${input.tenantId}`, P8FS_NAMESPACE);
      const jobId = uuidV5(`job:dream:${workflowId}:${input.tenantId}`, P8FS_NAMESPACE);
      const sources = await readDreamSources(pool, {
        tenantId: input.tenantId,
        since,
        sessionLimit: cfg.dream.sessionLimit,
        resourceLimit: cfg.dream.resourceLimit,
      });
      const maxOutput = cfg.llm.maxOutputTokens;
      const budget = sourceBudget(llm.contextTokens, maxOutput, promptOverheadTokens(input.tenantId));
      const packed = packSources(sources, budget);
      const inputKey = `dreams/${input.tenantId}/${analysisId}/input.json`;
      const file: PackedFile = { tenantId: input.tenantId, analysisId, sources: packed.sources };
      await putJson(s3, bucket, inputKey, file);
      const sessions = packed.sources.filter((s) => s.kind === 'session').length;
      const prepared: PreparedDream = {
        tenantId: input.tenantId,
        analysisId,
        jobId,
        inputKey,
        sessions,
        resources: packed.sources.length - sessions,
        tokens: packed.tokens,
        budgetTokens: budget,
        dropped: packed.dropped,
        truncated: packed.truncated,
        analyzedFrom: since,
        analyzedTo: until.toISOString(),
      };
      await upsertQueuedJob(pool, {
        jobId,
        tenantId: input.tenantId,
        workflowId: jobWorkflowKey(input.tenantId),
        runId,
        // Everything `p8fs dream complete` needs to store a batch answer after the workflow is gone.
        payload: {
          mode: input.mode,
          windowHours,
          workflowId,
          analysisId,
          analyzedFrom: since,
          analyzedTo: prepared.analyzedTo,
          inputKey,
          sessions,
          resources: prepared.resources,
          tokens: packed.tokens,
          dropped: packed.dropped,
          truncated: packed.truncated,
        },
      });
      Context.current().log.info('dream input prepared', {
        tenantId: input.tenantId,
        sessions,
        resources: prepared.resources,
        tokens: packed.tokens,
        budget,
        dropped: packed.dropped,
      });
      return prepared;
    },

    /** No sessions or resources in the window: the job completes with the reason, no dream is stored. */
    async skipDream(prepared: PreparedDream, reason: string): Promise<void> {
      await completeSkippedJob(pool, prepared.jobId, reason);
    },

    /** Direct mode: one structured model call (or the heuristic), validated, stored with its job. */
    async analyzeDreamDirect(prepared: PreparedDream): Promise<DreamSummary> {
      const { cancellationSignal: signal } = Context.current();
      await markJobsRunning(pool, [prepared.jobId]);
      const packed = await getJson<PackedFile>(s3, bucket, prepared.inputKey);
      const request: StructuredRequest<DreamModel> = {
        task: TASK,
        messages: messagesFor(packed),
        schema: DREAM_MODEL_SCHEMA,
        validate: validateDreamModel,
        heuristic: () => heuristicDream(packed),
        signal,
        onProgress: (details) => Context.current().heartbeat(details),
      };
      const answer = await heartbeating({ step: 'model', provider: llm.name }, () => llm.generate(request));
      const generatedBy = answer.provider === 'heuristic' ? 'heuristic' : 'model';
      const model = withKnownFacts(answer.value, factsOf(packed, prepared, generatedBy));
      return store(prepared, model, answer.provider, answer.model, answer.schemaRetries);
    },

    /** Batch mode: JSONL of every tenant's request → Files API → Batch. A retry reuses its round's batch. */
    async submitDreamBatch(input: { items: PreparedDream[]; round: number }): Promise<SubmittedBatch> {
      const api = batches();
      const { workflowId } = workflowOf();
      const { signal } = { signal: Context.current().cancellationSignal };
      const jobIds = input.items.map((i) => i.jobId);
      const timing = {
        pollSeconds: cfg.dream.batchPollSeconds,
        maxWaitSeconds: cfg.dream.batchMaxWaitHours * 3600,
      };
      const existing = await batchOfRound(pool, jobIds, input.round);
      if (existing) return { batchId: existing, inputFileId: '', ...timing };
      const lines = [];
      for (const item of input.items) {
        const packed = await getJson<PackedFile>(s3, bucket, item.inputKey);
        lines.push({ customId: item.analysisId, messages: messagesFor(packed) });
      }
      const jsonl = api.jsonl(lines, { task: TASK, schema: DREAM_MODEL_SCHEMA });
      const submitted = await api.submit(
        jsonl,
        `dreams-${input.round}-${input.items.length}.jsonl`,
        { p8fs_workflow_id: workflowId.slice(0, 512), p8fs_round: String(input.round) },
        signal,
      );
      await markJobsRunning(pool, jobIds, { batchId: submitted.batchId, round: input.round });
      Context.current().log.info('dream batch submitted', {
        batchId: submitted.batchId,
        requests: lines.length,
        round: input.round,
      });
      return { ...submitted, ...timing };
    },

    async pollDreamBatch(batchId: string): Promise<BatchPoll> {
      return batches().poll(batchId, Context.current().cancellationSignal);
    },

    /** Reads the output file, validates each tenant's answer and stores the valid ones; lists the rest. */
    async collectDreamBatch(input: { poll: BatchPoll; items: PreparedDream[] }): Promise<CollectedBatch> {
      const api = batches();
      const { signal } = { signal: Context.current().cancellationSignal };
      const output = input.poll.outputFileId ? await api.lines(input.poll.outputFileId, signal) : new Map();
      const errors = input.poll.errorFileId ? await api.lines(input.poll.errorFileId, signal) : new Map();
      const collected: CollectedBatch = { stored: [], failed: [] };
      const ctx = {
        pool,
        s3,
        bucket,
        workflowId: workflowOf().workflowId,
        provider: 'openai',
        modelName: llm.model,
        schemaRetries: 0,
        batchId: input.poll.batchId,
        batchStatus: input.poll.status,
      };
      for (const item of input.items) {
        const result = await storeBatchLine(
          ctx,
          item,
          output.get(item.analysisId) ?? errors.get(item.analysisId),
        );
        if ('stored' in result) collected.stored.push(result.stored);
        else collected.failed.push({ analysisId: item.analysisId, reason: result.failed });
      }
      return collected;
    },

    async failDreamJobs(input: { jobIds: string[]; message: string }): Promise<void> {
      await failJobs(pool, input.jobIds, input.message);
    },

    /** dreamBatch: the tenants to analyse (given, or every tenant with something new in the window). */
    async listDreamTenants(input: {
      tenantIds?: string[];
      windowHours?: number;
      until: string;
    }): Promise<{ tenants: string[]; concurrency: number }> {
      const concurrency = cfg.dream.concurrentTenants;
      if (input.tenantIds && input.tenantIds.length > 0)
        return { tenants: [...new Set(input.tenantIds)], concurrency };
      const since = new Date(
        new Date(input.until).getTime() - (input.windowHours ?? cfg.dream.windowHours) * 3600_000,
      ).toISOString();
      const rows = await pool.query<{ tenant_id: string }>(
        `SELECT tenant_id FROM sessions WHERE GREATEST(updated_at, COALESCE(last_message_at, updated_at)) >= $1
         UNION SELECT tenant_id FROM resources WHERE updated_at >= $1 ORDER BY tenant_id`,
        [since],
      );
      return { tenants: rows.rows.map((r) => r.tenant_id), concurrency };
    },
  };
}

export type DreamActivities = ReturnType<typeof createDreamActivities>;
