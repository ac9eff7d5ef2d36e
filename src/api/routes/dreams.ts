/**
 * Dream analysis the API starts or reads for the key's tenant (dreamAnalysis on the LLM queue, started
 * as `p8fs dream start` does). Another tenant's workflow is 404.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { releaseLlmClaim } from '../../db/llm-claims.js';
import type { DreamMode } from '../../domain/insight/dream-analysis.js';
import { readDreamModel } from '../../domain/insight/dream-model-read.js';
import { llmTaskQueue } from '../../temporal/names.js';
import { startDreamAnalysis } from '../../temporal/starts.js';
import { tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { claimOrRefuse } from '../llm-cap.js';
import { ApiProblem } from '../problems.js';
import { authProblems, problemRef, security } from '../schemas.js';

/** Temporal did not take the call: 503, naming the address (the API itself keeps serving). */
function temporalUnavailable(deps: ApiDeps, error: unknown): never {
  if (error instanceof ApiProblem) throw error;
  throw new ApiProblem(
    503,
    `Temporal at ${deps.cfg.temporal.address} (TEMPORAL_ADDRESS) did not answer: ${(error as Error).message}`,
    {},
    undefined,
    { cause: error },
  );
}

export function registerDreamRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: { mode?: DreamMode; windowHours?: number } | undefined }>(
    '/v1/dreams',
    {
      schema: {
        summary: "Start a dream analysis of the tenant's recent sessions and resources",
        description:
          "Starts dreamAnalysis on the LLM task queue (a dreaming worker must run: `p8fs dreaming-worker`). Mode batch needs the OpenAI provider. Each start takes one of the tenant's P8FS_LLM_JOBS_PER_TENANT_PER_HOUR slots; past them the answer is 429 with Retry-After and `resetsAt`.",
        tags: ['dreams'],
        security,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            mode: { type: 'string', enum: ['direct', 'batch'], default: 'direct' },
            windowHours: { type: 'integer', minimum: 1, maximum: 8760 },
          },
        },
        response: {
          202: {
            type: 'object',
            required: ['workflowId', 'runId'],
            properties: {
              workflowId: { type: 'string' },
              runId: { type: 'string' },
              taskQueue: { type: 'string' },
              mode: { type: 'string' },
              status: { type: 'string' },
            },
          },
          400: problemRef,
          401: problemRef,
          409: problemRef,
          429: problemRef,
          503: problemRef,
        },
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request);
      const mode = request.body?.mode ?? 'direct';
      if (mode === 'batch' && deps.cfg.llm.provider !== 'openai')
        throw new ApiProblem(
          409,
          `mode batch needs the OpenAI Batch API, but this deployment's provider is ${deps.cfg.llm.provider}; use mode direct`,
        );
      // The start time names the run; the suffix keeps two requests of the same millisecond apart.
      const workflowId = `dream/${tenantId}/${new Date().toISOString()}-${randomUUID().slice(0, 8)}`;
      const taskQueue = llmTaskQueue(deps.cfg);
      const windowHours = request.body?.windowHours;
      // The slot is taken before the start, so a burst cannot start more than the cap; a start that
      // fails gives it back.
      const claim = await claimOrRefuse(deps, reply, tenantId, 'dream', workflowId);
      const handle = await startDreamAnalysis(
        deps.temporal,
        { tenantId, mode, ...(windowHours ? { windowHours } : {}) },
        { taskQueue, workflowId },
      ).catch(async (error: unknown) => {
        await releaseLlmClaim(deps.pool, claim);
        return temporalUnavailable(deps, error);
      });
      return reply.code(202).send({
        workflowId,
        runId: handle.firstExecutionRunId,
        taskQueue,
        mode,
        status: `/v1/dreams/${encodeURIComponent(workflowId)}`,
      });
    },
  );

  app.get<{ Params: { workflowId: string } }>(
    '/v1/dreams/:workflowId',
    {
      schema: {
        summary:
          'The status of a dream analysis this tenant started (its workflow), and its dream once stored',
        tags: ['dreams'],
        security,
        params: {
          type: 'object',
          required: ['workflowId'],
          properties: { workflowId: { type: 'string', minLength: 1, maxLength: 400 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              workflowId: { type: 'string' },
              runId: { type: 'string' },
              status: { type: 'string' },
              startTime: { type: 'string', format: 'date-time' },
              closeTime: { type: ['string', 'null'], format: 'date-time' },
              dream: {
                type: ['object', 'null'],
                additionalProperties: true,
                description:
                  "The stored DreamModel once the analysis completed (the seeds' shape: goals[{goal, category, priority}], dreams[{dream, category, timeline}], metrics{total_documents_analyzed, confidence_score, data_completeness}, …), else null",
              },
            },
          },
          503: problemRef,
          ...authProblems,
        },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const { workflowId } = request.params;
      const notFound = new ApiProblem(404, `no dream analysis ${workflowId} for this tenant`);
      // Ids of this tenant's dream runs start with dream/<tenant>/ (the ones this API and the CLI make).
      if (!workflowId.startsWith(`dream/${tenantId}/`)) throw notFound;
      const described = await deps.temporal.workflow
        .getHandle(workflowId)
        .describe()
        .catch((error: unknown) => {
          if (error instanceof WorkflowNotFoundError) throw notFound;
          return temporalUnavailable(deps, error);
        });
      // The analysis's dream, through its job (keyed by this workflow id); rows of earlier releases
      // (other field names) come out in today's shape.
      const stored = await deps.pool.query<{ id: string; model: unknown }>(
        `SELECT d.id, d.model FROM dreams d JOIN jobs j ON j.id = d.job_id
          WHERE j.workflow_id = $1 AND d.tenant_id = $2 LIMIT 1`,
        [workflowId, tenantId],
      );
      const row = stored.rows[0];
      return {
        workflowId,
        runId: described.runId,
        status: described.status.name,
        startTime: described.startTime,
        closeTime: described.closeTime ?? null,
        dream: row ? readDreamModel(row.model, `dreams row ${row.id}`) : null,
      };
    },
  );
}
