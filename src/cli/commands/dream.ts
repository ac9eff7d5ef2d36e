/**
 * `p8fs dream start|complete|show`: dream analysis per tenant on the p8fs-llm task queue (an LLM worker,
 * `p8fs dreaming-worker`, must be running). start returns at once (or waits with --wait, saying within
 * seconds when no worker polls the queue); complete
 * reports pending batch jobs and finalises those whose workflow has ended; show prints the latest dream.
 */
import { type Command, Option } from 'commander';
import { OpenAiBatches } from '../../activities/insight/dream-batch.js';
import { DEFAULT_MODELS } from '../../activities/insight/llm/models.js';
import { withPool } from '../../clients/postgres.js';
import { createS3Client } from '../../clients/s3.js';
import { loadConfig } from '../../config/config.js';
import { claimLlmWork, overCapMessage, releaseLlmClaim } from '../../db/llm-claims.js';
import type { DreamMode } from '../../domain/insight/dream-analysis.js';
import type { DreamModel } from '../../domain/insight/dream-model.js';
import { readDreamModel } from '../../domain/insight/dream-model-read.js';
import { connectTemporal } from '../../temporal/connection.js';
import { llmTaskQueue } from '../../temporal/names.js';
import { startDreamAnalysis } from '../../temporal/starts.js';
import { completeDreamJobs } from '../dream-complete.js';
import { dreamingQueue, watchForPollers } from '../no-poller.js';

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`--window-hours must be a positive number, got ${JSON.stringify(value)}`);
  return n;
}

function printDream(model: DreamModel, provider: string, createdAt: Date): void {
  console.log(
    `dream ${model.analysis_id} for ${model.user_id} (${model.generated_by}, ${provider}, ${createdAt.toISOString()})`,
  );
  console.log(`  ${model.executive_summary}`);
  const section = (title: string, items: string[]) => {
    console.log(`  ${title}: ${items.length}`);
    for (const item of items.slice(0, 3)) console.log(`    - ${item}`);
  };
  section(
    'goals',
    model.goals.map((g) => `${g.goal} [${g.category}, ${g.priority}]`),
  );
  section(
    'dreams',
    model.dreams.map((d) => `${d.dream} [${d.category}, ${d.timeline}]`),
  );
  section(
    'fears',
    model.fears.map((f) => `${f.fear} [${f.severity}]`),
  );
  section(
    'pending tasks',
    model.pending_tasks.map((t) => `${t.task} [${t.urgency}]`),
  );
  section(
    'appointments',
    model.appointments.map((a) => `${a.event}${a.date_time ? ` (${a.date_time})` : ''}`),
  );
  section('priority actions', model.priority_actions);
  console.log(`  key themes: ${model.key_themes.join(', ') || '(none)'}`);
}

export function registerDreamCommands(program: Command): void {
  const dream = program.command('dream').description('Dream analysis per tenant (dreamAnalysis on p8fs-llm)');
  dream
    .command('start')
    .description('Start dreamAnalysis for a tenant')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .addOption(
      new Option('--mode <mode>', 'direct: one model call now; batch: OpenAI Batch API')
        .choices(['direct', 'batch'])
        .default('direct'),
    )
    .option(
      '--window-hours <hours>',
      'sessions and resources of the last H hours (default P8FS_DREAM_WINDOW_HOURS)',
      positive,
    )
    .option('--workflow-id <id>', 'workflow id (default dream/<tenant>/<start time>)')
    .option('--wait', 'wait for the result and print it')
    .addHelpText(
      'after',
      "\nNeeds a running dreaming worker: p8fs dreaming-worker (p8fs stack up starts one)\nEach start takes one of the tenant's P8FS_LLM_JOBS_PER_TENANT_PER_HOUR slots (shared with the API); past them it fails saying when the next slot frees.\nExample:\n  p8fs dream start --tenant tenant-test --mode direct --wait",
    )
    .action(
      async (options: {
        tenant: string;
        mode: DreamMode;
        windowHours?: number;
        workflowId?: string;
        wait?: boolean;
      }) => {
        const cfg = loadConfig();
        if (options.mode === 'batch' && cfg.llm.provider !== 'openai') {
          throw new Error(
            `--mode batch needs the OpenAI Batch API, but the configured provider is ${cfg.llm.provider} (P8FS_LLM_PROVIDER / OPENAI_API_KEY); use --mode direct`,
          );
        }
        const client = await connectTemporal(cfg);
        try {
          const workflowId = options.workflowId ?? `dream/${options.tenant}/${new Date().toISOString()}`;
          // The same per-tenant cap as POST /v1/dreams: a slot is claimed before the start, and given
          // back when the start fails.
          const handle = await withPool(cfg, async (pool) => {
            const claim = await claimLlmWork(pool, {
              tenantId: options.tenant,
              kind: 'dream',
              workId: workflowId,
              limit: cfg.llmCap.jobsPerTenantPerHour,
            });
            if (claim.kind === 'over-cap') throw new Error(overCapMessage(options.tenant, claim));
            return startDreamAnalysis(
              client,
              {
                tenantId: options.tenant,
                mode: options.mode,
                ...(options.windowHours ? { windowHours: options.windowHours } : {}),
              },
              { taskQueue: llmTaskQueue(cfg), workflowId },
            ).catch(async (error: unknown) => {
              await releaseLlmClaim(pool, claim);
              throw error;
            });
          });
          console.log(`started dreamAnalysis ${workflowId} (${options.mode}) on ${llmTaskQueue(cfg)}`);
          console.log(
            `  ${cfg.temporal.uiUrl}/namespaces/${cfg.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`,
          );
          if (!options.wait) return;
          console.log(
            options.mode === 'batch'
              ? 'waiting for the OpenAI Batch (may take hours; Ctrl-C leaves it running)…'
              : 'waiting…',
          );
          const watch = watchForPollers(client, cfg.temporal.namespace, [dreamingQueue(cfg)], console.log);
          const outcome = await handle.result().finally(() => watch.stop());
          if (outcome.status === 'skipped') {
            console.log(`skipped: ${outcome.reason}`);
            return;
          }
          const d = outcome.dream;
          console.log(
            `completed: ${outcome.sessions} session(s), ${outcome.resources} resource(s) → dream ${d.dreamId} (${d.generatedBy}, ${d.provider}/${d.model})`,
          );
          console.log(
            `  goals ${d.counts.goals}, dreams ${d.counts.dreams}, fears ${d.counts.fears}, pending tasks ${d.counts.pendingTasks}, appointments ${d.counts.appointments}`,
          );
          console.log(`  p8fs dream show ${options.tenant}`);
        } finally {
          await client.connection.close();
        }
      },
    );

  dream
    .command('complete')
    .description(
      'Report pending dream jobs and finalise those whose workflow has ended, from their OpenAI Batch',
    )
    .option('--tenant <tenant>', 'only this tenant')
    .addHelpText(
      'after',
      '\nA job whose workflow still runs is only reported. One whose workflow ended (terminated, failed, timed out)\nis settled: batch completed → dream stored; failed/expired → job failed with the reason; still running → reported.',
    )
    .action(async (options: { tenant?: string }) => {
      const cfg = loadConfig();
      const temporal = await connectTemporal(cfg);
      const s3 = createS3Client(cfg);
      try {
        await withPool(cfg, async (pool) => {
          const modelName = cfg.llm.model ?? DEFAULT_MODELS.openai;
          const reports = await completeDreamJobs(
            {
              pool,
              s3,
              bucket: cfg.s3.derivedBucket,
              temporal,
              ...(cfg.llm.provider === 'openai' ? { batches: new OpenAiBatches(cfg.llm, modelName) } : {}),
              modelName,
              pollSeconds: cfg.dream.batchPollSeconds,
            },
            options.tenant,
          );
          if (reports.length === 0) console.log('no pending dream jobs');
          for (const r of reports) console.log(r.line);
        });
      } finally {
        s3.destroy();
        await temporal.connection.close();
      }
    });

  dream
    .command('show')
    .description("Print a tenant's latest dream (counts and a few titles; --json for all of it)")
    .argument('<tenant>', 'tenant id')
    .option('--json', 'print the whole DreamModel as JSON')
    .action(async (tenant: string, options: { json?: boolean }) => {
      const cfg = loadConfig();
      await withPool(cfg, async (pool) => {
        const rows = await pool.query<{ id: string; model: unknown; provider: string; created_at: Date }>(
          'SELECT id, model, provider, created_at FROM dreams WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 1',
          [tenant],
        );
        const row = rows.rows[0];
        if (!row) {
          console.error(
            `p8fs: no dream stored for tenant ${tenant} yet (p8fs dream start --tenant ${tenant})`,
          );
          process.exitCode = 1;
          return;
        }
        // Rows of earlier releases (other field names) come out in today's shape too.
        const model = readDreamModel(row.model, `dreams row ${row.id}`);
        if (options.json) console.log(JSON.stringify(model, null, 2));
        else printDream(model, row.provider, row.created_at);
      });
    });
}
