/**
 * What the HTTP API must not leak, and its limits (issue 25): the server built in process with stand-in
 * connections whose errors carry secrets, answered with `inject` (no network, no stack: fast).
 * - a 5xx body says only that the request failed, with a request id (the cause goes to the log);
 * - /health (no key) says only up or down per dependency, never PostgreSQL's error text;
 * - /v1/stats: parts that fail say `unavailable`, never their error text; the tenant's figures are its own;
 * - an `offset` past 10,000 (file list, search) is a 400 naming `offset`, before any SQL;
 * - request, header, idle and keep-alive timeouts and the JSON body limit come from P8FS_API_*.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiDeps } from '../../src/api/deps.js';
import { ApiProblem } from '../../src/api/problems.js';
import { buildApiServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config/config.js';

const SECRET =
  'password authentication failed for user "tenant-b" at 10.0.0.7 in /srv/p8fs/tenant-b/report.pdf';
const KEY = `p8fs_abcdefgh_${'x'.repeat(43)}`;
const TENANT = 't-leaks-a';

interface Fakes {
  /** SELECT 1 (the health probe) fails with SECRET. */
  pgDown?: boolean;
}

/** A pool that knows one key (of TENANT), counts no files, and fails as told. */
function fakePool(f: Fakes) {
  return {
    query: async (sql: string) => {
      if (sql.includes('FROM api_keys')) return { rows: [{ id: 'key-1', tenant_id: TENANT }] };
      if (sql.startsWith('UPDATE api_keys')) return { rows: [] };
      if (sql === 'SELECT 1' && !f.pgDown) return { rows: [{ '?column?': 1 }] };
      throw new Error(SECRET);
    },
  };
}

const failing = () => {
  throw new Error(SECRET);
};

function fakeDeps(f: Fakes = {}, env: Record<string, string> = {}): ApiDeps {
  const cfg = loadConfig({ P8FS_STACK_DIR: '/nonexistent-p8fs-stack', ...env });
  const broken = new Proxy({}, { get: () => failing });
  return {
    cfg,
    pool: fakePool(f),
    s3: broken,
    presignS3: broken,
    js: broken,
    jsm: new Proxy({}, { get: () => broken }),
    temporal: new Proxy({}, { get: () => broken }),
  } as unknown as ApiDeps;
}

const apps: FastifyInstance[] = [];
async function server(f: Fakes = {}, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildApiServer(fakeDeps(f, env), { version: 'test' });
  apps.push(app);
  return app;
}
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

const auth = { authorization: `Bearer ${KEY}` };

describe('p8fs api: leaks and limits', () => {
  it('a 5xx body names no internal message, only a request id', async () => {
    const app = await server();
    app.get('/v1/boom', async () => {
      throw new Error(SECRET);
    });
    app.get('/v1/upstream', async () => {
      throw new ApiProblem(503, `Temporal at 10.0.0.7:7233 unreachable: ${SECRET}`);
    });
    const res = await app.inject({ method: 'GET', url: '/v1/boom', headers: auth });
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).not.toContain('tenant-b');
    expect(res.body).not.toContain('password');
    const body = res.json();
    expect(body.type).toBe('https://p8fs.dev/problems/internal-error');
    expect(typeof body.requestId).toBe('string');
    expect(body.detail).toContain(body.requestId);
    // A route's own 502/503 keeps its kind (status, type) but not its detail (which server, where).
    const upstream = await app.inject({ method: 'GET', url: '/v1/upstream', headers: auth });
    expect(upstream.statusCode).toBe(503);
    expect(upstream.json().type).toBe('https://p8fs.dev/problems/unavailable');
    expect(upstream.body).not.toContain('10.0.0.7');
    expect(typeof upstream.json().requestId).toBe('string');
  });

  it('a server the API needs being away is a 503 with Retry-After, not a 500 (PostgreSQL, S3, pool, fetch)', async () => {
    const app = await server();
    const refused = Object.assign(new Error(`connect ECONNREFUSED 10.0.0.7:5432 ${SECRET}`), {
      code: 'ECONNREFUSED',
    });
    const failures: Record<string, () => Error> = {
      refused: () => refused,
      shutdown: () => Object.assign(new Error('the database system is shutting down'), { code: '57P03' }),
      pool: () => new Error('timeout exceeded when trying to connect'),
      s3: () => Object.assign(new Error('Service Unavailable'), { $metadata: { httpStatusCode: 503 } }),
      fetch: () => new TypeError('fetch failed', { cause: new AggregateError([refused]) }),
    };
    for (const [name, make] of Object.entries(failures)) {
      app.get(`/v1/away-${name}`, async () => {
        throw make();
      });
    }
    app.get('/v1/bug', async () => {
      throw Object.assign(new Error('x is undefined'), { code: 'ERR_SOMETHING' });
    });
    for (const name of Object.keys(failures)) {
      const res = await app.inject({ method: 'GET', url: `/v1/away-${name}`, headers: auth });
      expect(res.statusCode, name).toBe(503);
      expect(res.headers['retry-after'], name).toBe('5');
      expect(res.json().type).toBe('https://p8fs.dev/problems/unavailable');
      expect(res.body).not.toContain('10.0.0.7');
    }
    // Anything else is still ours: a 500.
    expect((await app.inject({ method: 'GET', url: '/v1/bug', headers: auth })).statusCode).toBe(500);
  });

  it('an offset past 10,000 on the file list and search is a 400 naming offset', async () => {
    const app = await server();
    for (const url of [
      '/v1/files?offset=10001',
      '/v1/search?q=x&offset=10001',
      '/v1/files?offset=99999999999999999999',
    ]) {
      const res = await app.inject({ method: 'GET', url, headers: auth });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(400);
      expect(res.json().errors[0].path).toBe('/offset');
    }
  });

  it("/health says only up or down, never PostgreSQL's error text", async () => {
    const up = await (await server()).inject({ method: 'GET', url: '/health' });
    expect(up.statusCode).toBe(200);
    expect(up.json()).toMatchObject({ status: 'ok', postgres: 'up' });
    const down = await (await server({ pgDown: true })).inject({ method: 'GET', url: '/health' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ status: 'unavailable', postgres: 'down' });
    expect(down.body).not.toContain('tenant-b');
    expect(down.body).not.toContain('password');
  });

  it("/v1/stats: a failing part says unavailable, never its error text; tenant figures are the key's own", async () => {
    const app = await server();
    const res = await app.inject({ method: 'GET', url: '/v1/stats', headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).not.toContain('tenant-b');
    expect(res.body).not.toContain('password');
    const body = res.json();
    for (const part of [body.events, body.taskQueues, body.workflows, body.tenant.files])
      expect(part).toMatchObject({ error: 'unavailable' });
    expect(body.tenant.id).toBe(TENANT);
  });

  it('request, header, idle and keep-alive timeouts and the JSON body limit come from the config', async () => {
    const defaults = (await server()).server;
    expect(defaults.requestTimeout).toBe(3600_000);
    expect(defaults.headersTimeout).toBe(30_000);
    expect(defaults.timeout).toBe(120_000);
    expect(defaults.keepAliveTimeout).toBe(72_000);
    const app = await server(
      {},
      {
        P8FS_API_BODY_LIMIT: '1KiB',
        P8FS_API_REQUEST_TIMEOUT_SECONDS: '20',
        P8FS_API_HEADERS_TIMEOUT_SECONDS: '5',
        P8FS_API_IDLE_TIMEOUT_SECONDS: '9',
        P8FS_API_KEEPALIVE_TIMEOUT_SECONDS: '4',
      },
    );
    expect(app.server.requestTimeout).toBe(20_000);
    expect(app.server.headersTimeout).toBe(5_000);
    expect(app.server.timeout).toBe(9_000);
    expect(app.server.keepAliveTimeout).toBe(4_000);
    const big = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ tenant: TENANT, keys: Array.from({ length: 200 }, (_, i) => `k/${i}.txt`) }),
    });
    expect(big.statusCode, big.body).toBe(413);
    expect(big.headers['content-type']).toContain('application/problem+json');
  });
});
