/**
 * The per-key rate limit (issue 25): @fastify/rate-limit, keyed by the hash of the API key that
 * authenticated the request (not the client's address, which many tenants can share behind one proxy
 * and one tenant can multiply). Runs after authentication (preHandler), so unauthenticated requests are
 * answered by auth.ts (whose refusals are cheap: see refused-keys.ts) and /health, /docs are not counted.
 * Counts live in each API replica's memory: N replicas allow N times P8FS_API_RATE_LIMIT.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { ApiProblem } from './problems.js';

export async function registerRateLimit(app: FastifyInstance, cfg: Config): Promise<void> {
  const { rateLimit: max, rateWindowSeconds } = cfg.api;
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max,
    timeWindow: rateWindowSeconds * 1000,
    // Bounded memory: at most this many keys are tracked at once (least recently used go first).
    cache: 10_000,
    allowList: (request) => !request.principal,
    keyGenerator: (request) => request.principal?.keyHash ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      new ApiProblem(
        429,
        `this API key made more than ${max} requests in ${rateWindowSeconds} s (P8FS_API_RATE_LIMIT per P8FS_API_RATE_WINDOW_SECONDS); retry after ${Math.ceil(context.ttl / 1000)} s`,
        { limit: max, windowSeconds: rateWindowSeconds, retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        'rate-limited',
      ),
  });
}
