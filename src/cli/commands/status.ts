/**
 * `p8fs status`: one screen on the whole system: servers, the event stream and the bridge's backlog,
 * dead letters, files by status and running ingest workflows. Each part reports its own failure.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { Command } from 'commander';
import { connectNats } from '../../clients/nats.js';
import { createPool } from '../../clients/postgres.js';
import { type Config, loadConfig } from '../../config/config.js';
import { redactSecrets } from '../../config/redact.js';
import { errorText } from '../../domain/errors.js';
import { formatStatus, stackStatus } from '../../stack/stack.js';
import { cursorAgeSeconds, readCursor } from '../../subscriber/cursor.js';
import { connectTemporal } from '../../temporal/connection.js';
import { WorkflowTypes } from '../../temporal/names.js';

/** Prints one part of the status; every line passes through redactSecrets (URLs may carry passwords). */
async function section(title: string, body: () => Promise<string[]>): Promise<void> {
  console.log(`\n${title}`);
  try {
    for (const line of await body()) console.log(`  ${redactSecrets(line)}`);
  } catch (error) {
    console.log(`  unavailable: ${redactSecrets(errorText(error))}`);
  }
}

async function streamLines(cfg: Config): Promise<string[]> {
  const nc = await connectNats(cfg, 'p8fs-status');
  try {
    const jsm = await jetstreamManager(nc);
    const lines: string[] = [];
    for (const name of [cfg.nats.eventsStream, cfg.nats.dlqStream]) {
      const info = await jsm.streams.info(name).catch(() => undefined);
      lines.push(
        info
          ? `${name}: ${info.state.messages} messages stored`
          : `${name}: not created yet (start the bridge)`,
      );
    }
    const consumer = await jsm.consumers
      .info(cfg.nats.eventsStream, cfg.nats.bridgeConsumer)
      .catch(() => undefined);
    if (consumer) {
      lines.push(
        `consumer ${cfg.nats.bridgeConsumer}: ${consumer.num_pending} waiting, ${consumer.num_ack_pending} in flight, ${consumer.num_redelivered} redelivered`,
      );
    }
    return lines;
  } finally {
    await nc.close();
  }
}

async function databaseLines(cfg: Config): Promise<string[]> {
  const pool = createPool(cfg, 1);
  try {
    const files = await pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM files GROUP BY status ORDER BY status',
    );
    const resources = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM resources');
    const errors = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM errors WHERE date > now() - interval '1 day'",
    );
    return [
      `files: ${files.rows.map((r) => `${r.n} ${r.status}`).join(', ') || 'none'}`,
      `resources: ${resources.rows[0]?.n ?? 0}`,
      `errors in the last 24 h: ${errors.rows[0]?.n ?? 0}`,
    ];
  } finally {
    await pool.end();
  }
}

async function temporalLines(cfg: Config): Promise<string[]> {
  const client = await connectTemporal(cfg);
  try {
    const type = `WorkflowType = '${WorkflowTypes.ingestFile}'`;
    const running = await client.workflow.count(`${type} AND ExecutionStatus = 'Running'`);
    const failed = await client.workflow.count(`${type} AND ExecutionStatus = 'Failed'`);
    return [
      `${WorkflowTypes.ingestFile}: ${running.count} running, ${failed.count} failed (retained history)`,
      `UI: ${cfg.temporal.uiUrl}/namespaces/${cfg.temporal.namespace}/workflows`,
    ];
  } finally {
    await client.connection.close();
  }
}

/** The filer subscriber: its stored cursor (NATS KV) and, when it serves /health, its own view. */
async function subscriberLines(cfg: Config): Promise<string[]> {
  const { cursorBucket, name, healthPort } = cfg.subscriber;
  const nc = await connectNats(cfg, 'p8fs-status');
  const lines: string[] = [];
  try {
    const cursor = await readCursor(nc, cursorBucket, name);
    if (cursor && /^\d+$/.test(cursor)) {
      const at = new Date(Number(BigInt(cursor) / 1_000_000n)).toISOString();
      lines.push(
        `${name} cursor: ts_ns ${cursor} (${at}, ${cursorAgeSeconds(cursor).toFixed(1)} s ago; KV ${cursorBucket})`,
      );
    } else {
      lines.push(`${name} cursor: none yet (start \`p8fs seaweed-events\`)`);
    }
  } finally {
    await nc.close();
  }
  if (healthPort > 0) {
    const health = await fetch(`http://127.0.0.1:${healthPort}/health`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.json() as Promise<Record<string, unknown>>)
      .catch(() => undefined);
    if (health) {
      const counters = (health.counters ?? {}) as Record<string, number>;
      lines.push(
        `${name}: ${String(health.status)}, filer ${String(health.filer)}, lag ${Number(health.lagSeconds ?? 0).toFixed(1)} s, ${counters.published ?? 0} published, ${counters.skipped ?? 0} skipped`,
      );
    } else {
      lines.push(`${name}: not answering on http://127.0.0.1:${healthPort}/health`);
    }
  }
  return lines;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('Show servers, event backlog, dead letters, files by status and running workflows')
    .action(async () => {
      const cfg = loadConfig();
      await section('Servers', async () =>
        formatStatus(await stackStatus(cfg))
          .split('\n')
          .map((l) => l.trim()),
      );
      await section('JetStream', () => streamLines(cfg));
      await section('Filer subscriber', () => subscriberLines(cfg));
      await section('PostgreSQL', () => databaseLines(cfg));
      await section('Temporal', () => temporalLines(cfg));
    });
}
