/**
 * The Temporal UI tells the story (issue 12, point 7), against the real test stack: every run the bridge
 * or a CLI starts carries a one-line summary (file name, size with units, tenant, tier), details and a
 * memo, read back through the Temporal API; JobType is the jobs table's `ingest_file`; and each saved
 * search docs/GUIDE.md lists, run with the real `temporal` CLI, returns exactly the runs it says.
 *
 * A small-tier worker runs here so that one file completes and a corrupt PDF fails; the large file, the
 * transcript (LLM queue) and the dream have no worker and stay running until the end terminates them.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RouteResult, routeEvent } from '../../src/bridge/route-event.js';
import { projectRoot } from '../../src/config/project-root.js';
import { serverBinDir } from '../../src/stack/paths.js';
import { llmTaskQueue } from '../../src/temporal/names.js';
import { SearchAttributes } from '../../src/temporal/search-attributes.js';
import { startDreamAnalysis } from '../../src/temporal/starts.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

const run = promisify(execFile);

let p: Pipeline;
const tenant = uniqueTenant('summary');
const started: string[] = [];
const ids = {} as Record<'text' | 'corrupt' | 'large' | 'moments' | 'dream', string>;

type Started = Extract<RouteResult, { kind: 'started' }>;

async function route(key: string, body: Buffer | string, contentType: string): Promise<Started> {
  await p.putObject(tenant, key, body, contentType);
  const result = await routeEvent(
    { cfg: p.cfg, s3: p.s3, temporal: p.temporal },
    JSON.stringify({ event_type: 'create', path: `/buckets/${tenant}/${key}`, mime_type: contentType }),
    'workflow-summary-test',
  );
  if (result.kind !== 'started') throw new Error(`${key} was not started: ${JSON.stringify(result)}`);
  started.push(result.workflowId);
  return result;
}

beforeAll(async () => {
  p = await createPipeline('summary', {
    P8FS_TIER_SMALL_MAX_BYTES: '100000',
    P8FS_TIER_MEDIUM_MAX_BYTES: '500000',
  });
  await p.startWorkers(['small']);
  const text = 'A file whose run says what it is about, in the list of every run. '.repeat(40);
  ids.text = (await route('notes/weekly notes.md', text, 'text/markdown')).workflowId;
  const corrupt = Buffer.concat([
    Buffer.from('%PDF-1.7\n'),
    Buffer.alloc(4096, 0x41),
    Buffer.from('\n%%EOF'),
  ]);
  ids.corrupt = (await route('uploads/report.pdf', corrupt, 'application/pdf')).workflowId;
  ids.large = (await route('uploads/big.txt', Buffer.alloc(1_200_000, 0x61), 'text/plain')).workflowId;
  const transcript = JSON.stringify({ segments: [{ speaker: 'A', text: 'hello', start: 0, end: 1 }] });
  ids.moments = (await route('transcripts/standup.json', transcript, 'application/json')).workflowId;
  const dream = await startDreamAnalysis(
    p.temporal,
    { tenantId: tenant, mode: 'direct', windowHours: 24 },
    { taskQueue: llmTaskQueue(p.cfg), workflowId: `dream/${tenant}/summary-test` },
  );
  ids.dream = dream.workflowId;
  started.push(dream.workflowId);
  // The two runs with a worker end by themselves: wait for them, so statuses are final below.
  await Promise.all([
    p.temporal.workflow.getHandle(ids.text).result(),
    p.temporal.workflow
      .getHandle(ids.corrupt)
      .result()
      .catch(() => 'failed'),
  ]);
}, 120_000);

afterAll(async () => {
  for (const id of started) {
    await p?.temporal.workflow
      .getHandle(id)
      .terminate('workflow-summary test finished')
      .catch(() => undefined);
  }
  await p?.close();
});

describe('the Temporal UI tells the story (real Temporal)', () => {
  it('a file run carries a summary with name, size, tenant and tier, details, and a memo', async () => {
    const description = await p.temporal.workflow.getHandle(ids.large).describe();
    expect(await description.staticSummary()).toBe(`big.txt (1.1 MiB) · tenant ${tenant} · large tier`);
    const details = await description.staticDetails();
    expect(details).toContain(`/buckets/${tenant}/uploads/big.txt`);
    expect(details).toContain('1,200,000 bytes (1.1 MiB)');
    expect(details).toContain('**tier** large');
    expect(description.memo).toMatchObject({
      tenantId: tenant,
      path: `/buckets/${tenant}/uploads/big.txt`,
      fileName: 'big.txt',
      size: 1_200_000,
      tier: 'large',
      mimeType: 'text/plain',
      eventType: 'create',
      source: 'workflow-summary-test',
    });
    expect(description.typedSearchAttributes.get(SearchAttributes.JobType)).toBe('ingest_file');

    const text = await p.temporal.workflow.getHandle(ids.text).describe();
    expect(await text.staticSummary()).toMatch(
      new RegExp(`^weekly notes\\.md \\(2\\.\\d KiB\\) · tenant ${tenant} · small tier$`),
    );
    expect(text.status.name).toBe('COMPLETED');
  });

  it('the raw API (userMetadata) holds the same summary, as the UI and `temporal workflow describe` read it', async () => {
    const { raw } = await p.temporal.workflow.getHandle(ids.corrupt).describe();
    const summary = raw.executionConfig?.userMetadata?.summary?.data;
    expect(JSON.parse(Buffer.from(summary ?? []).toString('utf8'))).toBe(
      `report.pdf (4 KiB) · tenant ${tenant} · small tier`,
    );
    const { stdout } = await run(join(serverBinDir(), 'temporal'), [
      'workflow',
      'describe',
      '--address',
      p.cfg.temporal.address,
      '--namespace',
      p.cfg.temporal.namespace,
      '-w',
      ids.corrupt,
    ]);
    expect(stdout).toContain(`report.pdf (4 KiB) · tenant ${tenant} · small tier`);
  });

  it('moments and dream starts say whose and what, with JobType and TenantId', async () => {
    const moments = await p.temporal.workflow.getHandle(ids.moments).describe();
    expect(await moments.staticSummary()).toBe(`moments from transcripts/standup.json · tenant ${tenant}`);
    expect(moments.memo).toMatchObject({ tenantId: tenant, transcriptKey: 'transcripts/standup.json' });
    expect(moments.typedSearchAttributes.get(SearchAttributes.JobType)).toBe('build_moments');

    const dream = await p.temporal.workflow.getHandle(ids.dream).describe();
    expect(await dream.staticSummary()).toBe(`dream analysis · tenant ${tenant} · direct, last 24 h`);
    expect(dream.memo).toMatchObject({ tenantId: tenant, mode: 'direct', windowHours: 24 });
    expect(dream.typedSearchAttributes.get(SearchAttributes.JobType)).toBe('dream_analysis');
    expect(dream.typedSearchAttributes.get(SearchAttributes.TenantId)).toBe(tenant);
  });

  it('every saved search in docs/GUIDE.md returns what it says (real `temporal workflow list`)', async () => {
    const guide = readFileSync(join(projectRoot(), 'docs', 'GUIDE.md'), 'utf8');
    const section = guide.split('## Finding runs in the Temporal UI')[1]?.split('\n## ')[0] ?? '';
    const queries = [...section.matchAll(/^\| [^|]+ \| `([^`]+)` \|$/gm)].map((m) => m[1] as string);
    // What each GUIDE query must return of this test's runs (and nothing else: they are tenant-scoped).
    const expected: Record<string, string[]> = {
      'TenantId="tenant-demo"': Object.values(ids),
      'TenantId="tenant-demo" AND ExecutionStatus="Failed"': [ids.corrupt],
      'TenantId="tenant-demo" AND JobType="ingest_file" AND ExecutionStatus="Running"': [ids.large],
      'TenantId="tenant-demo" AND JobType="ingest_file" AND ExecutionStatus="Completed"': [ids.text],
      'TenantId="tenant-demo" AND Tier="large"': [ids.large],
      'TenantId="tenant-demo" AND FileName="report.pdf"': [ids.corrupt],
      'TenantId="tenant-demo" AND FileSize > 1000000': [ids.large],
      'TenantId="tenant-demo" AND MimeType="application/pdf" AND ExecutionStatus="Failed"': [ids.corrupt],
      'TenantId="tenant-demo" AND JobType IN ("build_moments", "dream_analysis")': [ids.moments, ids.dream],
    };
    expect(queries.sort()).toEqual(Object.keys(expected).sort());

    const temporal = join(serverBinDir(), 'temporal');
    for (const query of queries) {
      const mine = query.replaceAll('tenant-demo', tenant);
      const want = [...(expected[query] ?? [])].sort();
      // Visibility is eventually consistent: poll until the list settles on the expected runs.
      await eventually(
        `\`temporal workflow list --query '${mine}'\` to return ${want.join(', ')}`,
        async () => {
          const { stdout } = await run(temporal, [
            'workflow',
            'list',
            '--address',
            p.cfg.temporal.address,
            '--namespace',
            p.cfg.temporal.namespace,
            '--query',
            mine,
            '-o',
            'json',
          ]);
          const got = (JSON.parse(stdout || '[]') as { execution: { workflowId: string } }[])
            .map((w) => w.execution.workflowId)
            .sort();
          return JSON.stringify(got) === JSON.stringify(want) ? got : undefined;
        },
        20_000,
      );
    }
  });
});
