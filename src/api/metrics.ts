/**
 * The API's Prometheus metrics, served on a port of their own (P8FS_API_METRICS_PORT, as the workers do):
 * the public API port carries only tenant routes and /health, so a scrape target never sits on the
 * Internet-facing listener. Requests are counted by route pattern (`/v1/files/:id`), never by raw URL,
 * so a tenant's ids and names do not become label values.
 */
import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry } from 'prom-client';
import { startHealthServer } from '../telemetry/health-server.js';
import type { Logger } from '../telemetry/logger.js';
import { exposition } from '../telemetry/metrics.js';

export interface ApiMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
}

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'p8fs_api_requests_total',
    help: 'HTTP requests answered by the API, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'p8fs_api_request_duration_seconds',
    help: 'time from request to response, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return { registry, requests, duration };
}

/** Counts every response of `app` (call before it listens). Unmatched URLs count as route "unmatched". */
export function instrumentApi(app: FastifyInstance, metrics: ApiMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}

/**
 * GET /metrics and GET /health on host:port. /health here says only that the process is up; the API's
 * own /health (on its public port) is the readiness probe, which checks PostgreSQL.
 */
export function startApiMetricsServer(metrics: ApiMetrics, host: string, port: number, log: Logger): Server {
  return startHealthServer({
    port,
    host,
    log,
    health: () => ({ ok: true, body: { status: 'up' } }),
    metrics: () => exposition(metrics.registry),
  });
}
