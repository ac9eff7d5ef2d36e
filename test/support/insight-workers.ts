/**
 * In-process Temporal Workers for the insight tests: the heuristic LLM provider's activity deps of a
 * pipeline, and a Worker per task queue on one connection, stopped together.
 */
import { Worker } from '@temporalio/worker';
import pino from 'pino';
import { createLlmProvider } from '../../src/activities/insight/llm/index.js';
import { connectWorkerConnection } from '../../src/temporal/connection.js';
import type { Pipeline } from './pipeline.js';
import { bundleWorkflows, installQuietRuntime } from './workflow-env.js';

export type InsightDeps = ReturnType<typeof heuristicDeps>;

/** What the insight activity factories take, with the heuristic provider. */
export function heuristicDeps(p: Pipeline) {
  const llm = createLlmProvider({ ...p.cfg, llm: { ...p.cfg.llm, provider: 'heuristic' } });
  return { cfg: p.cfg, pool: p.pool, s3: p.s3, llm, log: pino({ level: 'silent' }) };
}

/** One Worker per `queues` entry (task queue → its activities), running; resolves to their stop. */
export async function startInsightWorkers(
  p: Pipeline,
  queues: Record<string, (deps: InsightDeps) => object>,
): Promise<() => Promise<void>> {
  installQuietRuntime();
  const deps = heuristicDeps(p);
  const connection = await connectWorkerConnection(p.cfg);
  const workflowBundle = await bundleWorkflows();
  const workers = await Promise.all(
    Object.entries(queues).map(([taskQueue, activities]) =>
      Worker.create({
        connection,
        namespace: p.cfg.temporal.namespace,
        taskQueue,
        workflowBundle,
        activities: activities(deps),
      }),
    ),
  );
  const running = workers.map((w) => w.run());
  return async () => {
    for (const w of workers) w.shutdown();
    await Promise.all(running);
    await connection.close();
  };
}
