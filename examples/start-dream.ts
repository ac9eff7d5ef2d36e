/**
 * Starting a dream analysis from your own script: @temporalio/client plus the typed start helper the
 * package exports (src/temporal/starts.ts), so a wrong input is a compile error, not a failed run.
 * An LLM worker must be running (`p8fs worker --tier llm`).
 *
 *   npx tsx examples/start-dream.ts tenant-test [direct|batch]
 *
 * Connection and task queue come from the same environment as `p8fs` (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, P8FS_TASK_QUEUE_PREFIX; defaults: 127.0.0.1:7233, default, p8fs → p8fs-llm).
 */
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../src/config/config.js';
import { llmTaskQueue } from '../src/temporal/names.js';
import { startDreamAnalysis } from '../src/temporal/starts.js';

const [tenantId, mode = 'direct'] = process.argv.slice(2);
if (!tenantId || (mode !== 'direct' && mode !== 'batch')) {
  console.error('usage: npx tsx examples/start-dream.ts TENANT [direct|batch]');
  process.exit(2);
}

const cfg = loadConfig();
const connection = await Connection.connect(cfg.temporal.connect.connectionOptions);
try {
  const client = new Client({ connection, namespace: cfg.temporal.namespace });
  const handle = await startDreamAnalysis(
    client,
    { tenantId, mode },
    { taskQueue: llmTaskQueue(cfg), workflowId: `dream/${tenantId}/example-${Date.now()}` },
  );
  console.log(`started ${handle.workflowId}; waiting for the result…`);
  const outcome = await handle.result();
  if (outcome.status === 'skipped') console.log(`skipped: ${outcome.reason}`);
  else console.log(`completed: dream ${outcome.dream.dreamId}, ${outcome.dream.counts.goals} goals, ${outcome.dream.counts.fears} fears (${outcome.dream.generatedBy})`);
} finally {
  await connection.close();
}
