/**
 * The dream part of `p8fs demo`: the dreaming sample session imported (the documents were uploaded and
 * ingested with the other samples), then dreamAnalysis in direct mode with the configured provider
 * (the offline heuristic unless a key is set) on the LLM task queue, and what it found. The caller runs
 * an LLM worker.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { createPool } from '../clients/postgres.js';
import type { Config } from '../config/config.js';
import { upsertSession } from '../db/sessions.js';
import { errorText } from '../domain/errors.js';
import { readDreamModel } from '../domain/insight/dream-model-read.js';
import { parseSessions } from '../domain/insight/session.js';
import { samplesDir } from '../stack/paths.js';
import { llmTaskQueue } from '../temporal/names.js';
import { startDreamAnalysis } from '../temporal/starts.js';

export interface DreamsDemoContext {
  cfg: Config;
  client: Client;
  say: (line: string) => void;
  tenantId: string;
}

/** Imports the sample sessions, runs one direct dream analysis and prints it; true when it completed. */
export async function runDreamsDemo(ctx: DreamsDemoContext): Promise<boolean> {
  const { cfg, client, say, tenantId } = ctx;
  const dir = join(samplesDir(), 'dreaming', 'sessions');
  const pool = createPool(cfg, 1);
  try {
    if (existsSync(dir)) {
      for (const name of readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()) {
        for (const session of parseSessions(JSON.parse(readFileSync(join(dir, name), 'utf8')), name)) {
          await upsertSession(pool, tenantId, session);
        }
      }
      say(`dreams: sample sessions imported from ${dir}`);
    } else say(`dreams: no sample sessions in ${dir}; analysing the resources only`);
    const workflowId = `dream/${tenantId}/demo-${Date.now()}`;
    say(
      `dreams: dreamAnalysis (direct, provider ${cfg.llm.provider}) on ${llmTaskQueue(cfg)} as ${workflowId}`,
    );
    // A month's window: a second demo run within it reads the documents the first run ingested.
    const handle = await startDreamAnalysis(
      client,
      { tenantId, mode: 'direct', windowHours: 24 * 30 },
      { taskQueue: llmTaskQueue(cfg), workflowId },
    );
    const outcome = await handle.result();
    if (outcome.status === 'skipped') {
      say(`dreams: skipped (${outcome.reason})`);
      return false;
    }
    const row = await pool.query<{ model: unknown }>('SELECT model FROM dreams WHERE id = $1', [
      outcome.dream.dreamId,
    ]);
    const model = row.rows[0]
      ? readDreamModel(row.rows[0].model, `dream ${outcome.dream.dreamId}`)
      : undefined;
    const c = outcome.dream.counts;
    console.log(
      `\nDream of ${tenantId} (${outcome.dream.generatedBy}, ${outcome.dream.provider}/${outcome.dream.model}) from ${outcome.sessions} session(s) and ${outcome.resources} resource(s):`,
    );
    console.log(
      `  goals ${c.goals}, dreams ${c.dreams}, fears ${c.fears}, pending tasks ${c.pendingTasks}, appointments ${c.appointments}, recommendations ${c.recommendations}`,
    );
    if (model) {
      for (const [label, items] of [
        ['goal', model.goals.map((g) => g.goal)],
        ['dream', model.dreams.map((d) => d.dream)],
        ['fear', model.fears.map((f) => f.fear)],
        ['task', model.pending_tasks.map((t) => t.task)],
      ] as const) {
        for (const title of items.slice(0, 2)) console.log(`  ${label}: ${title}`);
      }
    }
    console.log(`  full result: p8fs dream show ${tenantId} --json`);
    return true;
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? (error.cause ?? error) : error;
    say(`dreams: failed: ${errorText(cause)}`);
    return false;
  } finally {
    await pool.end();
  }
}
