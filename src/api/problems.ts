/**
 * Errors as RFC 9457 problem details (`application/problem+json`): every failure of the API, ours or
 * Fastify's (validation, unknown route, body too large), answers with the same shape, so a client has
 * one error path: `type` (a stable URI per kind), `title`, `status`, `detail` (what was wrong, for a
 * person) and `instance` (the request path), plus extension members where they help (`errors`).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDependencyUnavailable, UNAVAILABLE_RETRY_AFTER_SECONDS } from './unavailable.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'https://p8fs.dev/problems/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, [string, string]> = {
  400: ['bad-request', 'Bad request'],
  401: ['unauthorized', 'Missing or invalid API key'],
  403: ['forbidden', "Another tenant's resource"],
  404: ['not-found', 'Not found'],
  409: ['conflict', 'Conflict'],
  411: ['length-required', 'Content-Length required'],
  413: ['too-large', 'Request body too large'],
  415: ['unsupported-media-type', 'Unsupported media type'],
  422: ['unprocessable', 'Cannot be processed'],
  429: ['too-many-requests', 'Too many requests'],
  501: ['not-implemented', 'Not built yet'],
  502: ['upstream-failed', 'A server behind the API failed'],
  503: ['unavailable', 'A server behind the API is unavailable'],
};

/** A failure a route throws on purpose: it becomes a problem document with this status. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
    readonly kind?: string,
    // The error it answers for (logged with it; the client sees only `detail`).
    options?: ErrorOptions,
  ) {
    super(detail, options);
    this.name = 'ApiProblem';
  }
}

export function problem(
  status: number,
  detail: string,
  instance?: string,
  extensions: Record<string, unknown> = {},
  kind?: string,
): Problem {
  const [slug, title] = TITLES[status] ?? [status >= 500 ? 'server-error' : 'client-error', 'Error'];
  return {
    type: `${TYPE_BASE}${kind ?? slug}`,
    title,
    status,
    detail,
    ...(instance ? { instance } : {}),
    ...extensions,
  };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

/** JSON schema of a problem document, for the OpenAPI responses of every route. */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details (application/problem+json)',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
  additionalProperties: true,
} as const;

/**
 * A 5xx answer: it says only that the request failed and under which request id the log has the cause.
 * Internal messages (SQL, addresses, paths, other tenants' names) never reach the client.
 */
function serverProblem(
  status: number,
  request: FastifyRequest,
  instance: string | undefined,
  kind?: string,
): Problem {
  return problem(
    status,
    `the request failed on the server; its log has the cause under request id ${request.id}`,
    instance,
    { requestId: request.id },
    kind,
  );
}

/** Installs the handlers that turn every error and unknown route into a problem document. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) =>
    sendProblem(reply, problem(404, `no route ${request.method} ${request.url.split('?')[0]}`, request.url)),
  );
  app.setErrorHandler((error: FastifyError | ApiProblem, request: FastifyRequest, reply: FastifyReply) => {
    const instance = request.url.split('?')[0];
    if (error instanceof ApiProblem) {
      if (error.status >= 500) {
        request.log.warn({ err: error, reqId: request.id, detail: error.detail }, 'request failed');
        return sendProblem(reply, serverProblem(error.status, request, instance, error.kind));
      }
      return sendProblem(reply, problem(error.status, error.detail, instance, error.extensions, error.kind));
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      return sendProblem(
        reply,
        problem(400, fastifyError.message, instance, {
          errors: fastifyError.validation.map((v) => ({
            where: fastifyError.validationContext,
            path: v.instancePath,
            message: v.message,
          })),
        }),
      );
    }
    const status = fastifyError.statusCode ?? 500;
    if (status >= 400 && status < 500)
      return sendProblem(reply, problem(status, fastifyError.message, instance));
    if (isDependencyUnavailable(error)) {
      request.log.warn({ err: error, reqId: request.id }, 'request failed: a server the API needs is away');
      reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      return sendProblem(reply, serverProblem(503, request, instance, 'unavailable'));
    }
    request.log.error({ err: error, reqId: request.id }, 'request failed');
    return sendProblem(reply, serverProblem(500, request, instance, 'internal-error'));
  });
}
