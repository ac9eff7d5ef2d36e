/**
 * Regenerates test/histories/dream/*.json: histories of real dreamAnalysis runs (direct with the
 * heuristic provider, batch against the OpenAI loopback) on the test stack with the real activities,
 * which test/workflows/dream-replay.test.ts replays against the current workflow code.
 *
 *   npx tsx scripts/capture-dream-histories.ts
 *
 * Like scripts/capture-histories.ts: run it for an intended incompatible change, never to make a failing
 * replay pass.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createS3Client } from '../src/clients/s3.js';
import { loadConfig } from '../src/config/config.js';
import { projectRoot } from '../src/config/project-root.js';
import { stackUp } from '../src/stack/stack.js';
import { connectTemporal } from '../src/temporal/connection.js';
import { llmTaskQueue } from '../src/temporal/names.js';
import { startDreamAnalysis } from '../src/temporal/starts.js';
import { createLlmWorker } from '../src/workers/llm-worker.js';
import { createTestDatabase, dropTestDatabase } from '../test/support/database.js';
import {
  importSampleSessions,
  insertSampleResources,
  modelDream,
  userPrompt,
} from '../test/support/dream-fixtures.js';
import { startLoopbackOpenAi } from '../test/support/loopback-openai.js';
import { dropBucket } from '../test/support/pipeline.js';
import { isolatedEnv, testStackConfig, uniqueTenant } from '../test/support/test-stack.js';
import { historyToJson } from '../test/support/workflow-env.js';

const OUT_DIR = join(projectRoot(), 'test', 'histories', 'dream');

await stackUp(testStackConfig(), (line) => console.log(`[test-stack] ${line}`));
const openai = await startLoopbackOpenAi((body) => JSON.stringify(modelDream(userPrompt(body.messages))));
const env = isolatedEnv('dreamhist', {
  P8FS_WORKFLOW_BUNDLE: 'source',
  P8FS_DREAM_BATCH_POLL_SECONDS: '0.3',
  P8FS_LLM_MAX_ACTIVITIES_PER_SECOND: '50',
});
const heuristic = loadConfig({ ...env, P8FS_LLM_PROVIDER: 'heuristic' });
const openaiCfg = loadConfig({
  ...env,
  P8FS_TASK_QUEUE_PREFIX: `${env.P8FS_TASK_QUEUE_PREFIX}-openai`,
  P8FS_LLM_PROVIDER: 'openai',
  OPENAI_API_KEY: 'sk-loopback',
  P8FS_OPENAI_BASE_URL: openai.baseUrl,
  P8FS_LLM_MODEL: 'gpt-4o-mini',
});
const pool = await createTestDatabase(heuristic);
const temporal = await connectTemporal(heuristic);
const workers = [await createLlmWorker(heuristic), await createLlmWorker(openaiCfg)];
const running = workers.map((w) => w.run());
try {
  await mkdir(OUT_DIR, { recursive: true });
  openai.batchPlans.push({ pollsUntilDone: 3, end: 'completed' });
  for (const [name, cfg, mode] of [
    ['direct-heuristic', heuristic, 'direct'],
    ['batch-openai', openaiCfg, 'batch'],
  ] as const) {
    const tenant = uniqueTenant(name);
    await importSampleSessions(pool, tenant);
    await insertSampleResources(pool, tenant);
    const handle = await startDreamAnalysis(
      temporal,
      { tenantId: tenant, mode },
      { taskQueue: llmTaskQueue(cfg), workflowId: `dream-${name}-${tenant}` },
    );
    const outcome = await handle.result();
    if (outcome.status !== 'completed') throw new Error(`${name}: ended ${outcome.status}`);
    await writeFile(join(OUT_DIR, `${name}.json`), `${historyToJson(await handle.fetchHistory())}\n`);
    console.log(`[histories] dream/${name}.json: completed`);
  }
  execFileSync(join(projectRoot(), 'node_modules', '.bin', 'biome'), ['format', '--write', OUT_DIR], {
    stdio: 'ignore',
  });
} finally {
  for (const w of workers) w.shutdown();
  await Promise.all(running);
  await temporal.connection.close();
  const s3 = createS3Client(heuristic);
  await dropBucket(s3, heuristic.s3.derivedBucket).catch(() => undefined);
  s3.destroy();
  await dropTestDatabase(heuristic, pool);
  await openai.close();
}
