/**
 * Batches the API starts or reads for the key's tenant (ingestBatch, src/temporal/batch-starts.ts).
 * Every read is scoped to the key's tenant in the query itself; another tenant's batch is 404.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { readBatch } from '../../db/batches.js';
import {
  BatchIdTakenError,
  BatchRequestError,
  queryBatchProgress,
  startIngestBatch,
} from '../../temporal/batch-starts.js';
import { tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiProblem } from '../problems.js';
import { authProblems, problemRef, security } from '../schemas.js';

const FINAL_BATCH = new Set(['completed', 'failed', 'cancelled']);

const openObject = { type: 'object', additionalProperties: true } as const;

export function registerBatchRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{
    Body: {
      zip?: string;
      prefix?: string;
      keys?: string[];
      priority?: number;
      window?: number;
      batchId?: string;
    };
  }>(
    '/v1/batches',
    {
      schema: {
        summary:
          'Start a batch: a ZIP in the bucket, a prefix, or a list of keys, ingested in a sliding window',
        description:
          'Exactly one of zip, prefix, keys; all are keys of the tenant’s own bucket. Follow it with GET /v1/batches/{batchId}.',
        tags: ['batches'],
        security,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            zip: { type: 'string', minLength: 1 },
            prefix: { type: 'string' },
            keys: { type: 'array', minItems: 1, maxItems: 100_000, items: { type: 'string', minLength: 1 } },
            priority: { type: 'integer', minimum: 1, maximum: 5 },
            window: { type: 'integer', minimum: 1, maximum: 1000 },
            batchId: { type: 'string', format: 'uuid' },
          },
        },
        response: {
          202: {
            type: 'object',
            required: ['batchId', 'workflowId'],
            properties: {
              batchId: { type: 'string' },
              workflowId: { type: 'string' },
              runId: { type: 'string' },
              status: { type: 'string' },
            },
          },
          400: problemRef,
          401: problemRef,
          409: problemRef,
          503: problemRef,
        },
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request);
      try {
        const started = await startIngestBatch(
          {
            cfg: deps.cfg,
            temporal: deps.temporal,
            s3: deps.s3,
            pool: deps.pool,
            caps: {
              minPriority: deps.cfg.api.batchMinPriorityKey ?? deps.cfg.batch.priority,
              maxWindow: deps.cfg.api.batchMaxWindow,
            },
          },
          { ...request.body, tenantId },
        );
        return reply.code(202).send({
          batchId: started.batchId,
          workflowId: started.workflowId,
          runId: started.runId,
          status: `/v1/batches/${started.batchId}`,
        });
      } catch (error) {
        if (error instanceof BatchRequestError)
          throw new ApiProblem(400, error.message, {}, undefined, { cause: error });
        if (error instanceof BatchIdTakenError)
          throw new ApiProblem(409, error.message, {}, undefined, { cause: error });
        if (error instanceof WorkflowExecutionAlreadyStartedError)
          throw new ApiProblem(409, `batch ${request.body.batchId} was started before`);
        throw error;
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/batches/:id',
    {
      schema: {
        summary: 'A batch: its stored progress and aggregate, and live progress while it runs',
        tags: ['batches'],
        security,
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', format: 'uuid' } },
        },
        response: {
          200: {
            type: 'object',
            properties: { batch: openObject, live: { ...openObject, nullable: true } },
          },
          400: problemRef,
          ...authProblems,
        },
      },
    },
    async (request) => {
      const batch = await readBatch(deps.pool, request.params.id, { tenantId: tenantOf(request) });
      if (!batch) throw new ApiProblem(404, `no batch ${request.params.id} for this tenant`);
      // Live figures from the workflow's query while it runs; the row is enough once it has ended.
      const live = FINAL_BATCH.has(batch.status)
        ? null
        : await queryBatchProgress(deps.temporal, batch.id).catch(() => null);
      return { batch, live };
    },
  );
}
