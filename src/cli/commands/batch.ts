/**
 * `p8fs batch start|status|cancel`: many files as one batch (ingestBatch, docs/BATCHES.md). start writes
 * the `batches` row and starts the workflow (returns at once, or follows it with --wait); status follows
 * a running batch live through its `progress` query with a progress bar, and shows the stored aggregate
 * of an ended one; --json prints one JSON document instead.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { withPool } from '../../clients/postgres.js';
import { createS3Client } from '../../clients/s3.js';
import { type Config, loadConfig } from '../../config/config.js';
import { type BatchRow, readBatch } from '../../db/batches.js';
import {
  BATCH_FILE_STATUSES,
  type BatchProgress,
  type BatchTotals,
  batchWorkflowId,
  describeProgress,
  filesDone,
} from '../../domain/batch.js';
import { errorText } from '../../domain/errors.js';
import { ingestBatchHandle, queryBatchProgress, startIngestBatch } from '../../temporal/batch-starts.js';
import { connectTemporal } from '../../temporal/connection.js';
import { storageQueue, watchForPollers } from '../no-poller.js';

function wholeNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`${flag} must be a whole number ≥ 1, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** One key a line; blank lines and lines starting with # are ignored; `-` reads standard input. */
export function readKeyList(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new Error(`--list ${file}: cannot read it (${errorText(error)})`, { cause: error });
  }
  const keys = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (keys.length === 0) throw new Error(`--list ${file} holds no keys (one key a line)`);
  return keys;
}

const BAR_WIDTH = 30;

function bar(totals: BatchTotals, listingDone: boolean): string {
  const done = filesDone(totals);
  const fraction = totals.files > 0 ? done / totals.files : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const percent = listingDone ? `${Math.floor(fraction * 100)}%`.padStart(4) : '  ? ';
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent} ${describeProgress(totals, listingDone)}`;
}

function progressLine(p: BatchProgress): string {
  const extra =
    p.status === 'extracting' ? ' · extracting the ZIP' : p.running > 0 ? ` · ${p.running} running` : '';
  return `${bar(p, p.listingDone)}${extra}${p.runs > 1 ? ` · run ${p.runs}` : ''}`;
}

function printRow(row: BatchRow): void {
  const t = row.totals;
  console.log(`batch ${row.id} · tenant ${row.tenantId} · ${row.status} · priority ${row.priority}`);
  const source = row.source;
  console.log(
    `  source: ${
      source.kind === 'zip'
        ? `ZIP s3://${source.bucket}/${source.key}`
        : source.kind === 'prefix'
          ? `prefix s3://${source.bucket}/${source.prefix}`
          : `${source.count} keys (s3://${source.listBucket}/${source.listKey})`
    }`,
  );
  console.log(`  ${bar(t, ['completed', 'failed', 'cancelled'].includes(row.status))}`);
  console.log(
    `  files ${t.files}: ${BATCH_FILE_STATUSES.map((s) => `${s} ${t.counts[s]}`).join(', ')}; deduplicated ${t.deduplicated}`,
  );
  console.log(`  totals: ${t.pages} pages, ${t.chunks} chunks, ${t.bytes} bytes; ${row.runs} run(s)`);
  if (row.error) console.log(`  error: ${row.error}`);
  for (const f of row.failedFiles.slice(0, 20)) console.log(`  failed ${f.key}: ${f.reason}`);
  const more = row.failedFiles.length - 20 + row.failedFilesOmitted;
  if (more > 0) console.log(`  … ${more} more failed file(s): p8fs batch status ${row.id} --json`);
  console.log(`  workflow ${row.workflowId}`);
}

/** Follows a running batch until it ends: a bar redrawn in place on a terminal, a line every 5 s otherwise. */
async function follow(cfg: Config, batchId: string): Promise<void> {
  const temporal = await connectTemporal(cfg);
  const tty = process.stderr.isTTY;
  let lastLine = '';
  let lastPrinted = 0;
  // ingestBatch runs on the small queue: without a worker there the bar would never move.
  const watch = watchForPollers(temporal, cfg.temporal.namespace, [storageQueue(cfg, 'small')], (line) =>
    console.error(tty ? `\n${line}` : line),
  );
  try {
    const handle = ingestBatchHandle(temporal, batchId);
    let ended = false;
    const result = handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    void result.then(() => {
      ended = true;
    });
    while (!ended) {
      const progress = await queryBatchProgress(temporal, batchId).catch(() => undefined);
      if (progress) {
        const line = progressLine(progress);
        if (tty) process.stderr.write(`\r${line.padEnd(lastLine.length)}`);
        else if (line !== lastLine && Date.now() - lastPrinted > 5000) {
          console.error(line);
          lastPrinted = Date.now();
        }
        lastLine = line;
      }
      await Promise.race([sleep(tty ? 500 : 1000), result]);
    }
    if (tty && lastLine) process.stderr.write('\n');
    const error = await result;
    if (error && !(error instanceof WorkflowFailedError)) throw error;
  } finally {
    await watch.stop();
    await temporal.connection.close();
  }
}

async function isRunning(cfg: Config, batchId: string): Promise<BatchProgress | undefined> {
  const temporal = await connectTemporal(cfg);
  try {
    const description = await ingestBatchHandle(temporal, batchId).describe();
    if (description.status.name !== 'RUNNING') return undefined;
    return await queryBatchProgress(temporal, batchId);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  } finally {
    await temporal.connection.close();
  }
}

export function registerBatchCommands(program: Command): void {
  const batch = program
    .command('batch')
    .description('Many files as one batch: ZIP, prefix or list of keys → ingestFile children (ingestBatch)');

  batch
    .command('start')
    .description('Start a batch: a ZIP in S3, every object under a prefix, or a list of keys')
    .requiredOption('--tenant <tenant>', 'tenant id (the bucket the files are in)')
    .option('--zip <s3url>', 'a ZIP object of the tenant: s3://TENANT/KEY or KEY')
    .option('--prefix <prefix>', "every object under this prefix of the tenant's bucket ('' for all)")
    .option('--list <file>', 'a file of keys of the tenant, one a line (- for standard input)')
    .option(
      '--priority <n>',
      'Temporal priority key of the batch members, 1 (first) to 5 (default P8FS_BATCH_PRIORITY, 4)',
      wholeNumber('--priority'),
    )
    .option('--window <n>', 'files ingested at once (default P8FS_BATCH_WINDOW)', wholeNumber('--window'))
    .option(
      '--continue-as-new-after <n>',
      'files per workflow run (default P8FS_BATCH_CONTINUE_AS_NEW_AFTER)',
      wholeNumber('--continue-as-new-after'),
    )
    .option(
      '--page-size <n>',
      'keys listed per page (default P8FS_BATCH_PAGE_SIZE)',
      wholeNumber('--page-size'),
    )
    .option('--wait', 'follow the batch with a progress bar until it ends, then print its aggregate')
    .option('--json', 'print the started batch (and with --wait the aggregate) as JSON')
    .addHelpText(
      'after',
      '\nNeeds storage workers (p8fs storage-worker --tier small, and the tiers the files need).\nExamples:\n  p8fs batch start --tenant tenant-test --zip s3://tenant-test/uploads/archive.zip --wait\n  p8fs batch start --tenant tenant-test --prefix uploads/2024/ --priority 5\n  p8fs batch start --tenant tenant-test --list keys.txt --window 32',
    )
    .action(
      async (options: {
        tenant: string;
        zip?: string;
        prefix?: string;
        list?: string;
        priority?: number;
        window?: number;
        continueAsNewAfter?: number;
        pageSize?: number;
        wait?: boolean;
        json?: boolean;
      }) => {
        const sources = [options.zip, options.prefix, options.list].filter((v) => v !== undefined);
        if (sources.length !== 1) throw new Error('give exactly one of --zip, --prefix or --list');
        const keys = options.list !== undefined ? readKeyList(options.list) : undefined;
        const cfg = loadConfig();
        const temporal = await connectTemporal(cfg);
        const s3 = createS3Client(cfg);
        let started: Awaited<ReturnType<typeof startIngestBatch>>;
        try {
          started = await withPool(cfg, (pool) =>
            startIngestBatch(
              { cfg, temporal, s3, pool },
              {
                tenantId: options.tenant,
                ...(options.zip !== undefined ? { zip: options.zip } : {}),
                ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
                ...(keys ? { keys } : {}),
                ...(options.priority !== undefined ? { priority: options.priority } : {}),
                ...(options.window !== undefined ? { window: options.window } : {}),
                ...(options.continueAsNewAfter !== undefined
                  ? { continueAsNewAfter: options.continueAsNewAfter }
                  : {}),
                ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
              },
            ),
          );
        } finally {
          await temporal.connection.close();
          s3.destroy();
        }
        const { input } = started;
        if (options.json && !options.wait) {
          console.log(
            JSON.stringify({ batchId: started.batchId, workflowId: started.workflowId, input }, null, 2),
          );
          return;
        }
        if (!options.json) {
          console.log(`started batch ${started.batchId} (workflow ${started.workflowId})`);
          console.log(
            `  tenant ${input.tenantId} · ${input.source.kind} · priority ${input.priority} · window ${input.window}`,
          );
          console.log(`  p8fs batch status ${started.batchId}`);
        }
        if (!options.wait) return;
        await follow(cfg, started.batchId);
        const row = await withPool(cfg, (pool) => readBatch(pool, started.batchId));
        if (!row)
          throw new Error(`batch ${started.batchId} has no row in batches (database ${cfg.pg.database})`);
        if (options.json) console.log(JSON.stringify(row, null, 2));
        else printRow(row);
        if (row.status !== 'completed') process.exitCode = 1;
      },
    );

  batch
    .command('status <id>')
    .description('Progress of a batch: live with a progress bar while it runs, then its aggregate')
    .option('--json', 'print once, as JSON: the live progress of a running batch, else the stored row')
    .option('--no-follow', 'print once instead of following a running batch')
    .action(async (id: string, options: { json?: boolean; follow: boolean }) => {
      const cfg = loadConfig();
      const live = await isRunning(cfg, id);
      if (live && options.json) {
        console.log(JSON.stringify(live, null, 2));
        return;
      }
      if (live && options.follow) await follow(cfg, id);
      else if (live) {
        console.log(progressLine(live));
        return;
      }
      const row = await withPool(cfg, (pool) => readBatch(pool, id));
      if (!row) {
        throw new Error(
          `no batch ${id}: neither a workflow ${batchWorkflowId(id)} in Temporal (${cfg.temporal.address}) nor a row in batches (${cfg.pg.database})`,
        );
      }
      if (options.json) console.log(JSON.stringify(row, null, 2));
      else printRow(row);
    });

  batch
    .command('cancel <id>')
    .description('Cancel a batch: its running children are cancelled, no more are started')
    .action(async (id: string) => {
      const cfg = loadConfig();
      const temporal = await connectTemporal(cfg);
      try {
        await ingestBatchHandle(temporal, id).cancel();
        console.log(
          `cancellation requested for batch ${id}; p8fs batch status ${id} shows when it has ended`,
        );
      } catch (error) {
        if (error instanceof WorkflowNotFoundError)
          throw new Error(
            `no running batch ${id} (workflow ${batchWorkflowId(id)}) in Temporal at ${cfg.temporal.address}`,
          );
        throw error;
      } finally {
        await temporal.connection.close();
      }
    });
}
