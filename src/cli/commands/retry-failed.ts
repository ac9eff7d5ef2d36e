/**
 * `p8fs retry-failed --tenant T [--since D] [--mime M] [--dry-run] [--wait]`: new runs of a tenant's failed
 * files, e.g. after a provider was added or a limit raised. Each file's failed version runs again under
 * its own workflow id (ALLOW_DUPLICATE_FAILED_ONLY: see src/activities/housekeeping/file-runs.ts), so a
 * retry is never a second run beside an open one, and running the command twice re-queues nothing twice.
 *
 * Exit codes: 0 every selected file was re-queued (or none matched); 1 an error (bad option, a server
 * unreachable); 3 some files could not be re-queued (no recorded job, or their last run completed), or,
 * with --wait, some new runs failed again.
 */
import type { Client } from '@temporalio/client';
import { type Command, InvalidArgumentError } from 'commander';
import {
  type FileRun,
  failedFiles,
  type RestartOutcome,
  restartIngest,
} from '../../activities/housekeeping/file-runs.js';
import { createPool } from '../../clients/postgres.js';
import { loadConfig } from '../../config/config.js';
import { parseSince } from '../../domain/since.js';
import { connectTemporal } from '../../temporal/connection.js';

/** Exit code when some files were not re-queued, or (with --wait) failed again. */
export const RETRY_INCOMPLETE_EXIT_CODE = 3;

interface Options {
  tenant: string;
  since?: Date;
  mime?: string;
  limit: number;
  dryRun?: boolean;
  wait?: boolean;
}

function since(value: string): Date {
  try {
    return parseSince(value, new Date());
  } catch (error) {
    // commander's InvalidArgumentError takes no options: the cause is set on it.
    throw Object.assign(new InvalidArgumentError((error as Error).message), { cause: error });
  }
}

/** Checked in the action (not by the option parser) so the message goes where every p8fs error goes. */
function checkMime(value: string | undefined): void {
  if (value !== undefined && !/^[a-z0-9][a-z0-9.+-]*\/(\*|[a-z0-9][a-z0-9.+-]*)$/i.test(value)) {
    throw new Error(
      `--mime ${JSON.stringify(value)} is not a MIME type like application/pdf or a family like image/*`,
    );
  }
}

function limit(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a positive whole number`);
  return n;
}

function describeFile(file: FileRun): string {
  const error = file.error ? ` (${file.error.slice(0, 160)})` : '';
  return `${file.path} [${file.mimeType ?? 'unknown type'}] failed ${file.updatedAt.toISOString()}${error}`;
}

function outcomeLine(file: FileRun, outcome: RestartOutcome): string {
  switch (outcome.kind) {
    case 'started':
      return `re-queued ${file.path}: workflow ${outcome.workflowId} run ${outcome.runId}`;
    case 'running':
      return `already running ${file.path}: workflow ${outcome.workflowId} (left alone)`;
    case 'completed-before':
      return `not re-queued ${file.path}: the last run of workflow ${outcome.workflowId} completed; upload the file again for a new version`;
    case 'no-job':
      return `not re-queued ${file.path}: no ingest job was recorded for it (upload it again, or replay its event)`;
  }
}

/** Waits for one started run; true when it completed. */
async function waitFor(client: Client, workflowId: string, runId: string): Promise<string> {
  const handle = client.workflow.getHandle(workflowId, runId);
  try {
    const result = (await handle.result()) as { status?: string };
    return result?.status ?? 'completed';
  } catch (error) {
    return `failed: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`;
  }
}

export function registerRetryFailedCommand(program: Command): void {
  program
    .command('retry-failed')
    .description("Re-run a tenant's failed files (new workflow runs), e.g. after a provider was added")
    .requiredOption('--tenant <tenant>', 'the tenant (bucket) whose failed files to re-run')
    .option(
      '--since <when>',
      'only files that failed since: ISO date/time or an age (90s, 15m, 2h, 7d)',
      since,
    )
    .option('--mime <type>', 'only files of this MIME type (application/pdf) or family (image/*)')
    .option('--limit <n>', 'at most this many files', limit, 1000)
    .option('--dry-run', 'list what would be re-run; start nothing')
    .option('--wait', 'wait for the new runs to end and print how each ended')
    .addHelpText(
      'after',
      `
Each file's failed version runs again under the same workflow id as before (Temporal allows it only
after a failed, terminated, cancelled or timed-out run), so a file already running is left alone.

Exit codes: 0 all selected files re-queued (or none matched); 1 an error (option, server unreachable);
${RETRY_INCOMPLETE_EXIT_CODE} some files were not re-queued, or with --wait some failed again.`,
    )
    .action(async (options: Options) => {
      checkMime(options.mime);
      const cfg = loadConfig();
      const pool = createPool(cfg, 2);
      let client: Client | undefined;
      try {
        const files = await failedFiles(pool, {
          tenantId: options.tenant,
          limit: options.limit,
          ...(options.since ? { since: options.since } : {}),
          ...(options.mime ? { mimeType: options.mime } : {}),
        });
        const filters = [
          `tenant ${options.tenant}`,
          options.since ? `since ${options.since.toISOString()}` : '',
          options.mime ? `type ${options.mime}` : '',
        ].filter(Boolean);
        if (files.length === 0) {
          console.log(`no failed files match (${filters.join(', ')})`);
          return;
        }
        if (options.dryRun) {
          for (const file of files) console.log(`would re-run ${describeFile(file)}`);
          console.log(`${files.length} failed file(s) would be re-run (dry run: nothing started)`);
          return;
        }
        client = await connectTemporal(cfg);
        const started: { file: FileRun; workflowId: string; runId: string }[] = [];
        let skipped = 0;
        for (const [i, file] of files.entries()) {
          const outcome = await restartIngest(client, cfg, file, 'retry-failed');
          console.log(`[${i + 1}/${files.length}] ${outcomeLine(file, outcome)}`);
          if (outcome.kind === 'started') started.push({ file, ...outcome });
          else if (outcome.kind !== 'running') skipped++;
        }
        console.log(`${started.length} of ${files.length} failed file(s) re-queued (${filters.join(', ')})`);
        let failedAgain = 0;
        if (options.wait && started.length > 0) {
          console.log(`waiting for ${started.length} run(s) to end…`);
          for (const run of started) {
            const ended = await waitFor(client, run.workflowId, run.runId);
            if (ended.startsWith('failed')) failedAgain++;
            console.log(`${run.file.path}: ${ended}`);
          }
        }
        if (skipped > 0 || failedAgain > 0) process.exitCode = RETRY_INCOMPLETE_EXIT_CODE;
      } finally {
        await pool.end().catch(() => undefined);
        await client?.connection.close().catch(() => undefined);
      }
    });
}
