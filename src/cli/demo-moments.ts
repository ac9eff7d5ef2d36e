/**
 * The moments part of `p8fs demo`: buildMoments for each sample transcript (../shared/samples/moments)
 * on the LLM task queue, then what was found, read back from the `moments` table. The caller runs an LLM
 * worker. Workflow ids are derived from the transcript's content, so a second demo run follows the
 * first run's workflows instead of building the same moments again.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { loadMoments } from '../activities/insight/moment-store.js';
import { createPool } from '../clients/postgres.js';
import type { Config } from '../config/config.js';
import { errorText } from '../domain/errors.js';
import type { BuildMomentsOutcome } from '../domain/insight/build-moments.js';
import { samplesDir } from '../stack/paths.js';
import { llmTaskQueue } from '../temporal/names.js';
import { buildMomentsHandle, startBuildMoments } from '../temporal/starts.js';

export interface MomentsDemoContext {
  cfg: Config;
  client: Client;
  say: (line: string) => void;
  tenantId: string;
}

const RESULT_TIMEOUT_MS = 5 * 60_000;

function clock(iso: string): string {
  return iso.slice(11, 19);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Starts (or follows) buildMoments for every sample transcript; true when all of them completed. */
export async function runMomentsDemo(ctx: MomentsDemoContext): Promise<boolean> {
  const { cfg, client, say, tenantId } = ctx;
  const dir = join(samplesDir(), 'moments');
  if (!existsSync(dir)) {
    say(`moments: sample transcripts not found in ${dir}; skipped`);
    return false;
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('_input.json'))
    .sort();
  const taskQueue = llmTaskQueue(cfg);
  say(`moments: buildMoments for ${files.length} sample transcripts on ${taskQueue}`);
  const pool = createPool(cfg, 1);
  let allCompleted = true;
  try {
    await Promise.all(
      files.map(async (file) => {
        const name = file.replace(/_input\.json$/, '');
        const text = readFileSync(join(dir, file), 'utf8');
        const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
        const workflowId = `moments-demo/${tenantId}/${name}@${digest}`;
        try {
          await startBuildMoments(
            client,
            { tenantId, transcript: JSON.parse(text), source: 'demo' },
            {
              taskQueue,
              workflowId,
              workflowIdReusePolicy: 'REJECT_DUPLICATE',
              workflowIdConflictPolicy: 'FAIL',
            },
          );
        } catch (error) {
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
          say(`moments: ${name}: already built by an earlier run, following ${workflowId}`);
        }
        let outcome: BuildMomentsOutcome;
        try {
          outcome = await withTimeout(
            buildMomentsHandle(client, workflowId).result(),
            RESULT_TIMEOUT_MS,
            `no result within ${RESULT_TIMEOUT_MS / 60_000} minutes: is an LLM worker polling ${taskQueue}?`,
          );
        } catch (error) {
          allCompleted = false;
          const cause = error instanceof WorkflowFailedError ? error.cause : error;
          say(`✗ moments: ${name}: ${errorText(cause)}`);
          return;
        }
        const rows = await loadMoments(pool, tenantId, outcome.transcriptRef);
        const lines = rows.map(
          (m) =>
            `    ${clock(m.resource_timestamp)}–${clock(m.resource_ends_timestamp)} ${m.moment_type}: ${m.name} ` +
            `(persons: ${m.present_persons.map((p) => p.user_label).join(', ')}; topics: ${m.topic_tags.join(', ')})`,
        );
        say(
          `✓ moments: ${name}: ${outcome.moments} moment(s) from ${outcome.segments} segments by ${outcome.provider}${outcome.provider === 'heuristic' ? ' (rule-based, no language model)' : ` (${outcome.model})`}\n${lines.join('\n')}`,
        );
      }),
    );
  } finally {
    await pool.end();
  }
  return allCompleted;
}
