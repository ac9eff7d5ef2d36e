/**
 * GET /v1/stats: what `p8fs status` computes (src/events/stream-stats.ts, src/temporal/queue-stats.ts),
 * for dashboards that speak HTTP: the storage stream's backlog, the DLQ depth, per task queue the
 * backlog and pollers, workflows running per type; and, for the key's tenant, its running workflows and
 * its files by status. System figures are plain totals only (no other tenant's names, paths or contents).
 * Each part that fails says `unavailable` instead of failing the whole answer; its cause is only logged.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorText } from '../../domain/errors.js';
import { streamStats } from '../../events/stream-stats.js';
import { queryString, taskQueueStats, workflowCounts } from '../../temporal/queue-stats.js';
import { tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { problemRef, security } from '../schemas.js';

/**
 * One part of the answer; a part that fails says only `unavailable` (with the request id): its error text
 * (addresses, stream or queue internals, other tenants' subjects) goes to the log, never to the caller.
 */
async function part<T>(
  request: FastifyRequest,
  what: string,
  body: () => Promise<T>,
): Promise<T | { error: string; requestId: string }> {
  try {
    return await body();
  } catch (error) {
    request.log.warn({ err: error, detail: errorText(error), part: what }, 'stats: a part failed');
    return { error: 'unavailable', requestId: request.id };
  }
}

const openObject = { type: 'object', additionalProperties: true } as const;

export function registerStatsRoute(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/v1/stats',
    {
      schema: {
        summary:
          'Stream backlog, DLQ depth, task queue backlogs, running workflows; the tenant’s own figures',
        tags: ['stats'],
        security,
        response: {
          200: {
            type: 'object',
            properties: {
              events: openObject,
              taskQueues: { anyOf: [{ type: 'array', items: openObject }, openObject] },
              workflows: openObject,
              tenant: openObject,
            },
          },
          401: problemRef,
        },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const events = await part(request, 'events', async () => {
        const s = await streamStats(deps.jsm, deps.cfg);
        return {
          stream: deps.cfg.nats.eventsStream,
          stored: s.events?.messages ?? null,
          // Not yet handed to the bridge / handed over and not yet acknowledged.
          backlog: s.bridgeConsumer?.pending ?? null,
          inFlight: s.bridgeConsumer?.ackPending ?? null,
          redelivered: s.bridgeConsumer?.redelivered ?? null,
          deadLetters: s.deadLetters?.messages ?? 0,
          dlqStream: deps.cfg.nats.dlqStream,
        };
      });
      const taskQueues = await part(request, 'taskQueues', () => taskQueueStats(deps.temporal, deps.cfg));
      const workflows = await part(request, 'workflows', async () => {
        const counts = await workflowCounts(deps.temporal, ['Running']);
        return Object.fromEntries(
          Object.entries(counts).map(([type, c]) => [type, { running: c.running ?? 0 }]),
        );
      });
      const tenantWorkflows = await part(request, 'tenant workflows', async () => {
        const counts = await workflowCounts(
          deps.temporal,
          ['Running'],
          `TenantId = ${queryString(tenantId)}`,
        );
        return Object.fromEntries(Object.entries(counts).map(([type, c]) => [type, c.running ?? 0]));
      });
      const files = await part(request, 'tenant files', async () => {
        const rows = await deps.pool.query<{ status: string; n: number }>(
          'SELECT status, count(*)::int AS n FROM files WHERE tenant_id = $1 GROUP BY status ORDER BY status',
          [tenantId],
        );
        return Object.fromEntries(rows.rows.map((r) => [r.status, r.n]));
      });
      return {
        events,
        taskQueues,
        workflows,
        tenant: { id: tenantId, runningWorkflows: tenantWorkflows, files },
      };
    },
  );
}
