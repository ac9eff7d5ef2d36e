/**
 * The ceiling's worker process for bench/e2e.bench.ts: serves noopChain on P8FS_BENCH_NOOP_TASK_QUEUE with
 * the small tier's activity concurrency (P8FS_WORKER_CONCURRENCY_SMALL through the product's config), so
 * the only difference from `p8fs worker --tier small` is that the activities do nothing.
 *
 * Run: node --import tsx bench/noop/worker.ts   (the bench starts it; SIGTERM stops it)
 */
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config/config.js';
import { connectWorkerConnection } from '../../src/temporal/connection.js';
import { quietLogger } from '../../src/workers/workflow-bundle.js';
import * as activities from './activities.js';

const taskQueue = process.env.P8FS_BENCH_NOOP_TASK_QUEUE;
if (!taskQueue) {
  console.error('bench/noop/worker.ts: set P8FS_BENCH_NOOP_TASK_QUEUE to the task queue to serve');
  process.exit(2);
}
const cfg = loadConfig();
const connection = await connectWorkerConnection(cfg);
const worker = await Worker.create({
  connection,
  namespace: cfg.temporal.namespace,
  taskQueue,
  workflowBundle: await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
    logger: quietLogger,
  }),
  activities,
  maxConcurrentActivityTaskExecutions: cfg.worker.concurrency.small,
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => worker.shutdown());
console.log(
  `noop worker ready: task queue ${taskQueue}, ${cfg.worker.concurrency.small} activities at once (the small tier's)`,
);
await worker.run();
await connection.close();
