/**
 * One key cannot exhaust the API (issue 25), answered with `inject` on the server built in process with
 * a stand-in pool that counts its queries (no network, no stack):
 * - a per-key rate limit (@fastify/rate-limit, keyed by the key's hash): one request past
 *   P8FS_API_RATE_LIMIT is a 429 problem with Retry-After; another key of the same address is not held;
 * - fake keys are cheap: a malformed key costs no query, a repeated unknown key one, and many different
 *   unknown keys from one address at most P8FS_API_AUTH_FAILURES_PER_MINUTE before 429s without a query.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiDeps } from '../../src/api/deps.js';
import { hashApiKey } from '../../src/api/keys.js';
import { buildApiServer } from '../../src/api/server.js';
import { createS3Client } from '../../src/clients/s3.js';
import { loadConfig } from '../../src/config/config.js';

const KEY_A = `p8fs_aaaaaaaa_${'a'.repeat(43)}`;
const KEY_B = `p8fs_bbbbbbbb_${'b'.repeat(43)}`;
const KNOWN = new Map([
  [hashApiKey(KEY_A), { id: 'key-a', tenant_id: 't-abuse-a' }],
  [hashApiKey(KEY_B), { id: 'key-b', tenant_id: 't-abuse-b' }],
]);

const fileRow = (id: string, name: string, mime: string) => ({
  id,
  name,
  path: `/buckets/t-abuse-a/uploads/${name}`,
  category: 'uploads',
  uri: `s3://t-abuse-a/uploads/${name}`,
  mime_type: mime,
  status: 'completed',
});
const FILES = new Map(
  [
    fileRow('00000000-0000-4000-8000-000000000001', 'page.html', 'text/html'),
    fileRow('00000000-0000-4000-8000-000000000002', 'logo.svg', 'image/svg+xml'),
    fileRow('00000000-0000-4000-8000-000000000003', 'notes.txt', 'text/plain'),
    fileRow('00000000-0000-4000-8000-000000000004', 'évasion "x".pdf', 'application/pdf'),
  ].map((row) => [row.id, row]),
);

/** A pool that knows KEY_A and KEY_B and counts the key lookups it is asked for. */
function countingPool() {
  const counts = { keyLookups: 0 };
  const pool = {
    query: async (sql: string, params: unknown[] = []) => {
      if (sql.includes('FROM api_keys')) {
        counts.keyLookups += 1;
        const row = KNOWN.get(String(params[0]));
        return { rows: row ? [row] : [] };
      }
      const file = FILES.get(String(params[0]));
      if (/FROM files (f )?WHERE id/.test(sql) && file) return { rows: [file] };
      return { rows: [] };
    },
  };
  return { pool, counts };
}

const apps: FastifyInstance[] = [];
async function server(env: Record<string, string>) {
  const { pool, counts } = countingPool();
  const cfg = loadConfig({ P8FS_STACK_DIR: '/nonexistent-p8fs-stack', ...env });
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used here')) });
  // Signing needs no network: a real client with made-up keys.
  const presignS3 = createS3Client(cfg);
  const deps = { cfg, pool, s3: unused, presignS3, js: unused, jsm: unused, temporal: unused };
  const app = await buildApiServer(deps as unknown as ApiDeps, { version: 'test' });
  // A cheap authenticated route: what is measured is the walls in front of it.
  app.get('/v1/ping', async (request) => ({ tenant: request.principal?.tenantId }));
  apps.push(app);
  return { app, counts };
}
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

const ping = (app: FastifyInstance, key: string, remoteAddress = '10.1.1.1') =>
  app.inject({ method: 'GET', url: '/v1/ping', headers: { authorization: `Bearer ${key}` }, remoteAddress });

describe('p8fs api: abuse walls', () => {
  it('one request past P8FS_API_RATE_LIMIT is a 429 with Retry-After; the limit is per key', async () => {
    const { app } = await server({ P8FS_API_RATE_LIMIT: '5', P8FS_API_RATE_WINDOW_SECONDS: '60' });
    for (let i = 0; i < 5; i++) expect((await ping(app, KEY_A)).statusCode).toBe(200);
    const over = await ping(app, KEY_A);
    expect(over.statusCode).toBe(429);
    expect(over.headers['content-type']).toContain('application/problem+json');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(60);
    const body = over.json();
    expect(body.type).toBe('https://p8fs.dev/problems/rate-limited');
    expect(body.detail).toContain('P8FS_API_RATE_LIMIT');
    expect(body.limit).toBe(5);
    // Same address, another key: its own budget (keyed by the key, not the address).
    const other = await ping(app, KEY_B);
    expect(other.statusCode).toBe(200);
    expect(other.json()).toEqual({ tenant: 't-abuse-b' });
    // /health has no key and is not counted.
    for (let i = 0; i < 8; i++) expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
  });

  it('1,000 fake keys cost at most a handful of database queries', async () => {
    const { app, counts } = await server({ P8FS_API_AUTH_FAILURES_PER_MINUTE: '5' });
    const repeated = `p8fs_cccccccc_${'c'.repeat(43)}`;
    const answers: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const kind = i % 3;
      const key =
        kind === 0
          ? `not-a-key-${i}` // malformed: refused by its format
          : kind === 1
            ? repeated // one unknown key again and again: remembered as refused
            : `p8fs_${randomBytes(4).toString('hex')}_${randomBytes(32).toString('base64url')}`;
      answers.push((await ping(app, key, '10.6.6.6')).statusCode);
    }
    expect(answers.every((s) => s === 401 || s === 429)).toBe(true);
    // The repeated key once, then different unknown keys until the address's budget (5) is spent.
    expect(counts.keyLookups).toBeLessThanOrEqual(5);
    expect(answers.filter((s) => s === 429).length).toBeGreaterThan(600);
    const blocked = await ping(app, `p8fs_dddddddd_${'d'.repeat(43)}`, '10.6.6.6');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().detail).toContain('P8FS_API_AUTH_FAILURES_PER_MINUTE');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // A tenant at another address is not held up by the guesser.
    const before = counts.keyLookups;
    expect((await ping(app, KEY_A, '10.1.1.1')).statusCode).toBe(200);
    expect(counts.keyLookups).toBe(before + 1);
  });

  it('download URLs make HTML and SVG an attachment (octet-stream); safe types inline with their type forced', async () => {
    const { app } = await server({});
    const link = async (id: string) => {
      const res = await app.inject({
        url: `/v1/files/${id}/download?redirect=false`,
        headers: { authorization: `Bearer ${KEY_A}` },
      });
      expect(res.statusCode, res.body).toBe(200);
      const url = new URL(res.json().url);
      return {
        disposition: url.searchParams.get('response-content-disposition'),
        type: url.searchParams.get('response-content-type'),
        signed: url.searchParams.get('X-Amz-SignedHeaders'),
      };
    };
    const html = await link('00000000-0000-4000-8000-000000000001');
    expect(html.disposition).toBe(`attachment; filename="page.html"; filename*=UTF-8''page.html`);
    expect(html.type).toBe('application/octet-stream');
    const svg = await link('00000000-0000-4000-8000-000000000002');
    expect(svg.disposition).toMatch(/^attachment; filename="logo.svg"/);
    expect(svg.type).toBe('application/octet-stream');
    const text = await link('00000000-0000-4000-8000-000000000003');
    expect(text.disposition).toMatch(/^inline; filename="notes.txt"/);
    expect(text.type).toBe('text/plain');
    // Quotes and non-ASCII cannot break out of the header: an ASCII fallback and the RFC 8187 name.
    const pdf = await link('00000000-0000-4000-8000-000000000004');
    expect(pdf.disposition).toBe(
      `inline; filename="_vasion _x_.pdf"; filename*=UTF-8''%C3%A9vasion%20%22x%22.pdf`,
    );
  });
});
