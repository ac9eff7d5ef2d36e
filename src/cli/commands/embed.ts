/**
 * `p8fs embed backfill --tenant T [--provider P] [--wait]`: vectors for a tenant's chunks and moments that
 * lack one of the configured provider (stored before embedding existed, while it was off, when the step
 * failed, or under another provider before a model change). Starts the durable embedBackfill workflow
 * (src/workflows/embed-backfill.ts), or attaches to the one running for the tenant and provider; with
 * --wait prints its progress (its `progress` query) until it ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import type { EmbedBackfillProgress } from '../../domain/embedding.js';
import { embeddingProviderFromConfig } from '../../providers/embeddings/index.js';
import { connectTemporal } from '../../temporal/connection.js';
import {
  backfillProgress,
  type EmbedBackfillHandle,
  startEmbedBackfill,
} from '../../temporal/embed-backfill-starts.js';

function wholeNumber(flag: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new Error(`${flag} must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}

function progressLine(p: EmbedBackfillProgress): string {
  const where = p.done ? 'done' : `${p.kind} after ${p.afterId ?? 'the first row'}`;
  const failed = p.failedPages > 0 ? ` · ${p.failedPages} page(s) failed` : '';
  return `${p.embedded} vectors · ${p.pages} pages · ${p.inFlight} in flight · ${where}${failed}`;
}

async function follow(handle: EmbedBackfillHandle, everyMs: number): Promise<EmbedBackfillProgress> {
  const ended = handle.result();
  let last = '';
  for (;;) {
    const result = await Promise.race([ended, sleep(everyMs).then(() => undefined)]);
    if (result) return result;
    // Between runs (continue-as-new) the query may fail for a moment: the next tick asks again.
    const progress = await backfillProgress(handle).catch(() => undefined);
    const line = progress ? progressLine(progress) : '';
    if (line && line !== last) console.log(`  ${line}`);
    last = line || last;
  }
}

export function registerEmbedCommands(program: Command): void {
  const embed = program
    .command('embed')
    .description(
      'Vectors for chunks and moments (embedding is also a step of ingestion: docs/EMBEDDINGS.md)',
    );

  embed
    .command('backfill')
    .description("Embed a tenant's chunks and moments that lack a vector of the configured provider")
    .requiredOption('--tenant <tenant>', 'the tenant (its bucket name)')
    .option(
      '--provider <name>',
      'the provider name the vectors must have (as stored in embedding_provider); must be the one the workers are configured with (default: that one)',
    )
    .option('--page-size <n>', 'rows per page (one embed activity each)', wholeNumber('--page-size', 10_000))
    .option('--window <n>', 'pages embedded at once', wholeNumber('--window', 64))
    .option('--wait', 'print the progress until the backfill ends')
    .option('--json', 'print the final progress (with --wait) or the start as JSON')
    .addHelpText(
      'after',
      '\nNeeds storage workers (p8fs storage-worker --tier small: its embedding slots run the pages).\nRun again at any time: only rows still lacking a current vector are embedded; one backfill runs per tenant and provider (a second start attaches to it).\nExamples:\n  p8fs embed backfill --tenant tenant-test --wait\n  p8fs embed backfill --tenant tenant-test --provider all-MiniLM-L6-v2 --window 4',
    )
    .action(
      async (options: {
        tenant: string;
        provider?: string;
        pageSize?: number;
        window?: number;
        wait?: boolean;
        json?: boolean;
      }) => {
        const cfg = loadConfig();
        const configured = embeddingProviderFromConfig(cfg).name;
        if (options.provider !== undefined && options.provider !== configured)
          throw new Error(
            `--provider ${options.provider}: the workers embed with ${configured} (P8FS_EMBEDDING_PROVIDER); set P8FS_EMBEDDING_PROVIDER for the workers and this command, then run again`,
          );
        const temporal = await connectTemporal(cfg);
        try {
          const { handle, attached } = await startEmbedBackfill(cfg, temporal, {
            tenantId: options.tenant,
            provider: configured,
            ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
            ...(options.window !== undefined ? { window: options.window } : {}),
          });
          if (!options.json)
            console.log(
              `${attached ? 'attached to the running' : 'started'} embed backfill ${handle.workflowId} (tenant ${options.tenant}, provider ${configured})`,
            );
          else if (!options.wait)
            console.log(JSON.stringify({ workflowId: handle.workflowId, attached, provider: configured }));
          if (!options.wait) return;
          const final = await follow(handle, 2000);
          if (options.json) console.log(JSON.stringify(final, null, 2));
          else console.log(`embed backfill done: ${progressLine(final)}`);
          if (final.failedPages > 0) process.exitCode = 1;
        } finally {
          await temporal.connection.close();
        }
      },
    );
}
