/**
 * Regenerates test/histories/embed/*.json: the histories of a real `embedBackfill` chain, which
 * test/workflows/embed-backfill-replay.test.ts replays against the current workflow code. On the test
 * stack (started when it is not running) with isolated names and the local model: two files are ingested
 * with embedding on, their vectors removed (rows as stored before embedding existed), a moment stored,
 * then a backfill with pages of 5 rows, a window of 2 and continue-as-new every 2 pages; every run of the
 * chain is saved (backfill-run1.json, …).
 *
 *   npx tsx scripts/capture-embed-histories.ts
 *
 * Run it when a change is meant to be incompatible, never to make a failing replay pass.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { replaceMoments } from '../src/activities/insight/moment-store.js';
import { planRoute, type RouteDeps, startPlanned } from '../src/bridge/route-event.js';
import { projectRoot } from '../src/config/project-root.js';
import type { MomentBuilderResult } from '../src/domain/insight/moment-output.js';
import { LOCAL_PROVIDER_NAME } from '../src/providers/embeddings/index.js';
import { samplesDir } from '../src/stack/paths.js';
import { stackUp } from '../src/stack/stack.js';
import { startEmbedBackfill } from '../src/temporal/embed-backfill-starts.js';
import { createPipeline } from '../test/support/pipeline.js';
import { testStackConfig, uniqueTenant } from '../test/support/test-stack.js';
import { historyToJson } from '../test/support/workflow-env.js';

const OUT_DIR = join(projectRoot(), 'test', 'histories', 'embed');
const tenant = uniqueTenant('embedhist');

async function main(): Promise<void> {
  await stackUp(testStackConfig(), (line) => console.log(`[test-stack] ${line}`));
  const p = await createPipeline('embedhist', {
    P8FS_WORKFLOW_BUNDLE: 'source',
    P8FS_EMBEDDINGS_ENABLED: 'true',
  });
  try {
    await p.startWorkers(['small']);
    const deps: RouteDeps = { cfg: p.cfg, s3: p.s3, temporal: p.temporal };
    for (const [sample, key] of [
      ['content/Sample.md', 'notes/Sample.md'],
      ['content/diary_sample.md', 'notes/diary.md'],
    ] as const) {
      await p.putObject(tenant, key, readFileSync(resolve(samplesDir(), sample)), 'text/markdown');
      const plan = await planRoute(
        deps,
        JSON.stringify({ event_type: 'create', path: `/buckets/${tenant}/${key}` }),
        'capture-embed-histories',
      );
      if (plan.kind !== 'planned') throw new Error(`${key}: not routed: ${JSON.stringify(plan)}`);
      const started = await startPlanned(deps, plan);
      if (started.kind !== 'started') throw new Error(`${key}: not started: ${JSON.stringify(started)}`);
      await p.temporal.workflow.getHandle(started.workflowId).result();
    }
    await p.pool.query('DELETE FROM embeddings.resources_embeddings WHERE tenant_id = $1', [tenant]);
    await replaceMoments(p.pool, tenant, 'standup', {
      moments: [
        {
          name: 'release plan',
          category: null,
          content: 'We agreed to ship the release on Friday',
          summary: null,
          uri: null,
          metadata: {},
          resource_timestamp: '2026-01-01T09:00:00Z',
          resource_ends_timestamp: '2026-01-01T09:05:00Z',
          present_persons: [],
          location: null,
          background_sounds: null,
          moment_type: 'conversation',
          emotion_tags: [],
          topic_tags: [],
          speakers: [],
        },
      ],
      analysis_summary: 's',
      total_moments: 1,
    } as never as MomentBuilderResult);
    const { handle, attached } = await startEmbedBackfill(p.cfg, p.temporal, {
      tenantId: tenant,
      provider: LOCAL_PROVIDER_NAME,
      pageSize: 5,
      window: 2,
      pagesPerRun: 2,
    });
    const result = await handle.result();
    console.log(`[histories] backfill: ${JSON.stringify(result)}`);
    // Every run of the chain, first to last: follow continuedExecutionRunId from the first run.
    await rm(OUT_DIR, { recursive: true, force: true });
    await mkdir(OUT_DIR, { recursive: true });
    // A fresh tenant: the backfill was started here, so its handle knows the chain's first run.
    if (attached) throw new Error('a backfill of this tenant was running already');
    let runId: string | undefined = (handle as typeof handle & { firstExecutionRunId: string })
      .firstExecutionRunId;
    for (let run = 1; runId; run++) {
      const history = await p.temporal.workflow.getHandle(handle.workflowId, runId).fetchHistory();
      await writeFile(join(OUT_DIR, `backfill-run${run}.json`), `${historyToJson(history)}\n`);
      const last = history.events?.at(-1);
      runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
      console.log(`[histories] backfill-run${run}.json (${history.events?.length} events)`);
    }
    execFileSync(join(projectRoot(), 'node_modules', '.bin', 'biome'), ['format', '--write', OUT_DIR], {
      stdio: 'ignore',
    });
  } finally {
    await p.close();
  }
}

try {
  await main();
  console.log(`[histories] written to ${OUT_DIR}`);
} catch (error) {
  console.error('[histories] capture failed:', error);
  process.exitCode = 1;
}
