/**
 * Reading moments (src/db/moments.ts) on the real test stack: migration 0010's columns, the filters
 * (time range, person, topic, pages), `p8fs moments list|show` in-process and GET /v1/moments[/:id] over
 * real HTTP with two tenants' keys. Tenant B holds a moment with the same person and topic as A's, so a
 * leak across tenants would show in every filter.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.js';
import { type RunningApi, startApi } from '../../src/api/process.js';
import { getMoment, listMoments } from '../../src/db/moments.js';
import { callApi, expectProblem } from '../support/api-client.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { createPipeline, type Pipeline } from '../support/pipeline.js';
import { isolatedEnv, uniqueTenant } from '../support/test-stack.js';

const env = isolatedEnv('momentsread');
const tenantA = uniqueTenant('momra');
const tenantB = uniqueTenant('momrb');
let p: Pipeline;
let api: RunningApi;
let baseUrl: string;
let keyA: string;
let keyB: string;

const alice = { fingerprint_id: 'fp-alice', user_id: 'u-alice', user_label: 'Alice' };
const bob = { fingerprint_id: 'fp-bob', user_id: 'u-bob', user_label: 'Bob' };
const ids = { standup: randomUUID(), review: randomUUID(), untimed: randomUUID(), other: randomUUID() };

async function insert(
  id: string,
  tenant: string,
  name: string,
  start: string | null,
  persons: unknown[],
  topics: string[],
  extra: { images?: string[]; keyEmotions?: string[] } = {},
): Promise<void> {
  const end = start ? new Date(Date.parse(start) + 30 * 60_000).toISOString() : null;
  await p.pool.query(
    `INSERT INTO moments (id, tenant_id, name, content, summary, resource_timestamp, resource_ends_timestamp,
       present_persons, moment_type, emotion_tags, topic_tags, images, key_emotions)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'meeting', '{focused,calm}', $9, $10, $11)`,
    [
      id,
      tenant,
      name,
      `${name}: what was said`,
      `${name} in short`,
      start,
      end,
      JSON.stringify(persons),
      topics,
      extra.images ?? '{}',
      extra.keyEmotions ?? '{}',
    ],
  );
}

beforeAll(async () => {
  p = await createPipeline('momentsread', {}, env);
  await insert(
    ids.standup,
    tenantA,
    'Monday standup',
    '2025-01-13T09:00:00Z',
    [alice, bob],
    ['standup', 'api-design'],
    {
      images: ['s3://a/whiteboard.png'],
      keyEmotions: ['collaborative'],
    },
  );
  await insert(ids.review, tenantA, 'Contract review', '2025-01-15T14:00:00Z', [alice], ['contract-review']);
  // The original's free-form persons ({name}) and no times (its model allows both).
  await insert(ids.untimed, tenantA, 'Untimed note', null, [{ name: 'Carol' }], ['notes']);
  await insert(ids.other, tenantB, 'B standup', '2025-01-13T09:00:00Z', [alice], ['standup']);
  api = await startApi(p.cfg, { port: 0, host: '127.0.0.1' });
  baseUrl = api.url.replace(/\/$/, '');
  keyA = (await createApiKey(p.pool, tenantA, 'moments A')).key;
  keyB = (await createApiKey(p.pool, tenantB, 'moments B')).key;
}, 90_000);

afterAll(async () => {
  await api?.close();
  await p?.close();
});

describe('migration 0010', () => {
  it("gives moments the original's images, key_emotions, graph_paths and userid, with empty defaults", async () => {
    const columns = await p.pool.query<{ column_name: string; udt_name: string; column_default: string }>(
      `SELECT column_name, udt_name, column_default FROM information_schema.columns
        WHERE table_name = 'moments' AND column_name IN ('images', 'key_emotions', 'graph_paths', 'userid')
        ORDER BY column_name`,
    );
    expect(columns.rows.map((c) => [c.column_name, c.udt_name])).toEqual([
      ['graph_paths', 'jsonb'],
      ['images', '_text'],
      ['key_emotions', '_text'],
      ['userid', 'text'],
    ]);
    const review = await getMoment(p.pool, tenantA, ids.review);
    expect(review).toMatchObject({ images: [], key_emotions: [], graph_paths: [], userid: null });
  });
});

describe('listMoments and getMoment', () => {
  const names = async (filter: Parameters<typeof listMoments>[1]) =>
    (await listMoments(p.pool, filter)).moments.map((m) => m.name);

  it("lists the tenant's moments newest first, never another tenant's", async () => {
    const all = await listMoments(p.pool, { tenantId: tenantA });
    expect(all.total).toBe(3);
    // The untimed moment counts by when it was written (now), so it is the newest.
    expect(all.moments.map((m) => m.name)).toEqual(['Untimed note', 'Contract review', 'Monday standup']);
    expect(all.moments[2]).toMatchObject({
      resource_timestamp: '2025-01-13T09:00:00.000Z',
      images: ['s3://a/whiteboard.png'],
      key_emotions: ['collaborative'],
      topic_tags: ['standup', 'api-design'],
    });
  });

  it('filters by time range, person (label in any case, user id, fingerprint, name) and topic', async () => {
    const since = new Date('2025-01-14T00:00:00Z');
    const until = new Date('2025-01-16T00:00:00Z');
    expect(await names({ tenantId: tenantA, since, until })).toEqual(['Contract review']);
    expect(await names({ tenantId: tenantA, until: since })).toEqual(['Monday standup']);
    expect(await names({ tenantId: tenantA, person: 'alice' })).toEqual([
      'Contract review',
      'Monday standup',
    ]);
    expect(await names({ tenantId: tenantA, person: 'u-bob' })).toEqual(['Monday standup']);
    expect(await names({ tenantId: tenantA, person: 'fp-bob' })).toEqual(['Monday standup']);
    expect(await names({ tenantId: tenantA, person: 'CAROL' })).toEqual(['Untimed note']);
    expect(await names({ tenantId: tenantA, person: 'Dave' })).toEqual([]);
    expect(await names({ tenantId: tenantA, topic: 'Standup' })).toEqual(['Monday standup']);
    expect(await names({ tenantId: tenantB, topic: 'standup', person: 'Alice' })).toEqual(['B standup']);
  });

  it('pages with limit and offset, the total counting every match', async () => {
    const page = await listMoments(p.pool, { tenantId: tenantA, limit: 1, offset: 1 });
    expect(page.total).toBe(3);
    expect(page.moments.map((m) => m.name)).toEqual(['Contract review']);
    await expect(listMoments(p.pool, { tenantId: tenantA, limit: 0 })).rejects.toThrow(/limit/);
  });

  it("reads a moment by id for its own tenant only; another tenant's id or a non-uuid is missing", async () => {
    expect((await getMoment(p.pool, tenantA, ids.review))?.name).toBe('Contract review');
    expect(await getMoment(p.pool, tenantA, ids.other)).toBeUndefined();
    expect(await getMoment(p.pool, tenantA, 'not-a-uuid')).toBeUndefined();
  });
});

describe('p8fs moments list|show', () => {
  it('lists with filters, as lines and as JSON', async () => {
    const lines = await runCliInProcess(['moments', 'list', '--tenant', tenantA, '--person', 'Bob'], env);
    expect(lines.code, lines.stderr).toBe(0);
    expect(lines.stdout).toContain(
      `${ids.standup}  2025-01-13 09:00:00 → 09:30:00  [meeting] Monday standup`,
    );
    expect(lines.stdout).toContain('with Alice, Bob; topics standup, api-design');
    expect(lines.stdout).toContain('1-1 of 1 moment(s)');
    const json = await runCliInProcess(
      ['moments', 'list', '--tenant', tenantA, '--since', '2025-01-14', '--until', '2025-01-16', '--json'],
      env,
    );
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { total: number; moments: Array<{ id: string }> };
    expect(parsed.total).toBe(1);
    expect(parsed.moments[0]?.id).toBe(ids.review);
  });

  it("shows one moment whole; another tenant's id is a clear error; a bad --since is refused", async () => {
    const shown = await runCliInProcess(['moments', 'show', ids.standup, '--tenant', tenantA], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`moment ${ids.standup}: Monday standup`);
    expect(shown.stdout).toContain('key emotions: collaborative');
    expect(shown.stdout).toContain('images:       s3://a/whiteboard.png');
    expect(shown.stdout).toContain('Monday standup: what was said');
    const foreign = await runCliInProcess(['moments', 'show', ids.other, '--tenant', tenantA], env);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain(`tenant ${tenantA} has no moment ${ids.other}`);
    const bad = await runCliInProcess(['moments', 'list', '--tenant', tenantA, '--since', 'yesterday'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--since "yesterday" is neither an ISO date/time');
  });
});

describe('GET /v1/moments', () => {
  it("answers the key's tenant's moments, filtered", async () => {
    const answer = await callApi(baseUrl, 'GET', '/v1/moments?person=alice&topic=standup', keyA);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.total).toBe(1);
    const [only] = answer.body.moments as Array<Record<string, unknown>>;
    expect(only).toMatchObject({ id: ids.standup, images: ['s3://a/whiteboard.png'], graph_paths: [] });
    const ranged = await callApi(
      baseUrl,
      'GET',
      '/v1/moments?since=2025-01-14T00:00:00Z&until=2025-01-16T00:00:00Z',
      keyA,
    );
    expect((ranged.body.moments as Array<{ id: string }>).map((m) => m.id)).toEqual([ids.review]);
    const other = await callApi(baseUrl, 'GET', '/v1/moments', keyB);
    expect((other.body.moments as Array<{ id: string }>).map((m) => m.id)).toEqual([ids.other]);
  });

  it("reads one by id; another tenant's id is a 404; bad ranges and limits are 400s", async () => {
    const own = await callApi(baseUrl, 'GET', `/v1/moments/${ids.review}`, keyA);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ id: ids.review, name: 'Contract review', key_emotions: [] });
    expectProblem(await callApi(baseUrl, 'GET', `/v1/moments/${ids.review}`, keyB), 404);
    expectProblem(await callApi(baseUrl, 'GET', '/v1/moments/nope', keyA), 404);
    expectProblem(
      await callApi(
        baseUrl,
        'GET',
        '/v1/moments?since=2025-01-16T00:00:00Z&until=2025-01-14T00:00:00Z',
        keyA,
      ),
      400,
    );
    expectProblem(await callApi(baseUrl, 'GET', '/v1/moments?limit=1000', keyA), 400);
    expectProblem(await callApi(baseUrl, 'GET', '/v1/moments?since=yesterday', keyA), 400);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${baseUrl}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/moments', '/v1/moments/{id}']));
  });
});
