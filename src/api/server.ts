/**
 * The HTTP API (Fastify 5): request and response JSON schemas on every route, which are also the
 * OpenAPI 3.1 document (@fastify/swagger) served at /docs (Swagger UI, from the package's own files:
 * nothing is fetched at run time) and /docs/json; errors as RFC 9457 problem details; /health for
 * probes. Every /v1 route needs a tenant's API key (auth.ts).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { errorText } from '../domain/errors.js';
import { requireApiKey } from './auth.js';
import type { ApiDeps } from './deps.js';
import { installProblemHandlers, problemSchema } from './problems.js';
import { registerRateLimit } from './rate-limit.js';
import { RefusedKeys } from './refused-keys.js';
import { registerBatchRoutes } from './routes/batches.js';
import { registerDreamRoutes } from './routes/dreams.js';
import { registerFileRoutes, registerFileUploadRoute } from './routes/files.js';
import { registerMomentRoutes } from './routes/moments.js';
import { registerRelatedRoutes } from './routes/related.js';
import { registerSearchRoute } from './routes/search.js';
import { registerStatsRoute } from './routes/stats.js';
import { registerUploadPartRoute, registerUploadRoutes } from './routes/uploads.js';

export const API_TITLE = 'P8FS Flows API';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route reads the request body as a stream (the file itself); the OpenAPI shows it as binary. */
    rawBody?: boolean;
  }
}

export interface ApiServerOptions {
  version: string;
  logger?: FastifyBaseLogger;
}

export async function buildApiServer(deps: ApiDeps, options: ApiServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    // JSON bodies are small (a batch's key list is the largest); files never go through a JSON parser.
    bodyLimit: deps.cfg.api.bodyLimit,
    // A client that never finishes its request or goes silent holds a socket: every wait has an end.
    requestTimeout: deps.cfg.api.requestTimeoutSeconds * 1000,
    connectionTimeout: deps.cfg.api.idleTimeoutSeconds * 1000,
    keepAliveTimeout: deps.cfg.api.keepAliveTimeoutSeconds * 1000,
    // Upload ids carry S3's own upload id (about 100 characters in SeaweedFS, longer elsewhere).
    routerOptions: { maxParamLength: 2048 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });
  // Not a Fastify option: the Node server's own limit for the headers (at most the request timeout).
  app.server.headersTimeout =
    Math.min(deps.cfg.api.headersTimeoutSeconds, deps.cfg.api.requestTimeoutSeconds) * 1000;
  app.decorateRequest('principal', null);
  app.addSchema(problemSchema);
  installProblemHandlers(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: API_TITLE,
        version: options.version,
        description:
          "Upload files into a tenant's bucket (whole or resumable), follow their ingestion, download them, search their chunks, start batches and dream analyses. Every /v1 route needs the tenant's API key (`p8fs apikey create --tenant T`). Errors are RFC 9457 problem details.",
      },
      tags: [
        { name: 'files', description: 'Uploads, status and downloads' },
        { name: 'uploads', description: 'Resumable uploads of big files (S3 multipart)' },
        { name: 'batches', description: 'Batches of files (ingestBatch)' },
        { name: 'search', description: "Full-text search over the tenant's chunks" },
        { name: 'dreams', description: 'Dream analysis' },
        { name: 'moments', description: 'Moments built from transcripts, sessions and documents' },
        { name: 'resources', description: 'Related resources (resource affinity)' },
        { name: 'stats', description: 'Backlogs and running work' },
        { name: 'health', description: 'Probes' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer p8fs_…' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transform: ({ schema, url, route }) => {
      if (!route.config?.rawBody) return { schema, url };
      // Raw-body routes validate nothing of the body (it is a stream); the document still says what it is.
      return {
        schema: {
          ...schema,
          body: { type: 'string', format: 'binary', description: 'the bytes of the file (or part)' },
          consumes: ['application/octet-stream', '*/*'],
        } as typeof schema,
        url,
      };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  app.get(
    '/health',
    {
      schema: {
        summary:
          'Liveness and readiness: 200 when PostgreSQL (API keys, files) answers, else 503; says only up or down',
        tags: ['health'],
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              postgres: { type: 'string', enum: ['up', 'down'] },
              uptimeSeconds: { type: 'number' },
            },
          },
          503: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              postgres: { type: 'string', enum: ['up', 'down'] },
              uptimeSeconds: { type: 'number' },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const uptimeSeconds = Math.round(process.uptime());
      try {
        await deps.pool.query('SELECT 1');
        return { status: 'ok', postgres: 'up', uptimeSeconds };
      } catch (error) {
        // Unauthenticated: the answer says only up or down; the cause (address, user, SQL) goes to the log.
        request.log.warn({ err: error, detail: errorText(error) }, 'health: PostgreSQL is down');
        return reply.code(503).send({ status: 'unavailable', postgres: 'down', uptimeSeconds });
      }
    },
  );

  const authenticate = requireApiKey(deps.pool, new RefusedKeys(deps.cfg.api.authFailuresPerMinute));
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url?.startsWith('/v1/')) await authenticate(request, reply);
  });

  await registerRateLimit(app, deps.cfg);
  registerFileRoutes(app, deps);
  registerUploadRoutes(app, deps);
  registerStatsRoute(app, deps);
  registerDreamRoutes(app, deps);
  registerMomentRoutes(app, deps);
  registerRelatedRoutes(app, deps);
  registerBatchRoutes(app, deps);
  registerSearchRoute(app, deps);
  // Routes whose body is a file: no content-type parser may read it, whatever the Content-Type says.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    registerFileUploadRoute(raw, deps);
    registerUploadPartRoute(raw, deps);
  });
  return app;
}
