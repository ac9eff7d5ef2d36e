/**
 * Authentication: every /v1 route needs a tenant's API key, as `Authorization: Bearer <key>` or
 * `X-API-Key: <key>`. No key, an unknown or a revoked key: 401 (with WWW-Authenticate). A key acts for
 * its tenant only: a tenant named in the path that is not the key's is 403; an id (file, upload, batch,
 * workflow) of another tenant is 404, as if it did not exist, so ids of other tenants cannot be probed.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { type ApiPrincipal, authenticateApiKey } from './keys.js';
import { ApiProblem, problem, sendProblem } from './problems.js';
import type { RefusedKeys } from './refused-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal | null;
  }
}

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1] ?? '';
  }
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

/** An onRequest hook: sets request.principal, or answers 401. `refused` makes repeated fakes cheap. */
export function requireApiKey(pool: pg.Pool, refused?: RefusedKeys) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const key = presentedKey(request);
    const instance = request.url.split('?')[0];
    const refuse = (detail: string) =>
      sendProblem(reply.header('www-authenticate', 'Bearer realm="p8fs"'), problem(401, detail, instance));
    if (key === undefined) {
      await refuse(
        'no API key: send `Authorization: Bearer <key>` (make one with `p8fs apikey create --tenant T`)',
      );
      return;
    }
    const address = request.ip;
    const wait = refused?.blockedFor(address) ?? 0;
    if (wait > 0) {
      // Many unknown keys from one address: a guesser. Answered without a database query.
      await sendProblem(
        reply.header('retry-after', String(wait)),
        problem(
          429,
          `${refused?.failuresPerMinute} unknown API keys from this address in a minute (P8FS_API_AUTH_FAILURES_PER_MINUTE); retry after ${wait} s`,
          instance,
          { retryAfterSeconds: wait },
          'rate-limited',
        ),
      );
      return;
    }
    const principal = await authenticateApiKey(pool, key, refused);
    if (!principal) {
      refused?.failed(address);
      await refuse('the API key is unknown or revoked');
      return;
    }
    request.principal = principal;
  };
}

/** The tenant the request acts for (the route runs only after requireApiKey). */
export function tenantOf(request: FastifyRequest): string {
  if (!request.principal) throw new ApiProblem(401, 'no API key');
  return request.principal.tenantId;
}

/** A tenant named in the path must be the key's own. */
export function requireTenant(request: FastifyRequest, tenant: string): string {
  const own = tenantOf(request);
  if (tenant !== own)
    throw new ApiProblem(403, `this API key belongs to tenant ${own}; tenant ${tenant} needs its own key`);
  return own;
}
