/**
 * `p8fs status [--json]`: one screen on the whole system, as an operator who knows Temporal and NATS
 * expects it: each server reachable or not, the storage stream and the bridge consumer's backlog, dead
 * letters by reason, per task queue the backlog and the pollers, workflows by type and status, files by
 * status, and the filer subscriber's cursor and lag. Each part reports its own failure.
 *
 * Exit codes: 0 when every required part (Temporal, NATS, PostgreSQL, SeaweedFS) answered; 1 when one is
 * down or unreachable (the text says which). Warnings (no pollers on a queue with a backlog, dead letters)
 * are printed but do not change the exit code: they need a person, not a restart.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { Command } from 'commander';
import { connectNats } from '../../clients/nats.js';
import { createPool } from '../../clients/postgres.js';
import { type Config, loadConfig } from '../../config/config.js';
import { redactSecrets } from '../../config/redact.js';
import { embeddingTotals } from '../../db/embeddings/index.js';
import { schemaProblem, schemaState } from '../../db/schema-version.js';
import { errorText } from '../../domain/errors.js';
import { listDeadLetters } from '../../events/dead-letter-queue.js';
import { streamStats } from '../../events/stream-stats.js';
import { embeddingProviderFromConfig } from '../../providers/embeddings/index.js';
import { formatStatus, stackStatus } from '../../stack/stack.js';
import { cursorAgeSeconds, readCursor } from '../../subscriber/cursor.js';
import { connectTemporal } from '../../temporal/connection.js';
import { taskQueueStats, workflowCounts } from '../../temporal/queue-stats.js';

type Part = Record<string, unknown>;

interface Report {
  ok: boolean;
  problems: string[];
  warnings: string[];
  parts: Record<string, Part | { error: string }>;
}

/** Runs one part; a failure is recorded as that part's error (and, if `required`, as a problem). */
async function gather(
  report: Report,
  name: string,
  required: boolean,
  body: () => Promise<Part>,
): Promise<void> {
  try {
    report.parts[name] = await body();
  } catch (error) {
    const message = redactSecrets(errorText(error));
    report.parts[name] = { error: message };
    if (required) report.problems.push(`${name}: ${message}`);
  }
}

async function serversPart(cfg: Config, report: Report): Promise<Part> {
  const states = await stackStatus(cfg);
  for (const s of states.filter((x) => x.state === 'down'))
    report.problems.push(`${s.name} is down: ${s.detail}`);
  return {
    text: formatStatus(states),
    servers: states.map((s) => ({ name: s.name, up: s.state === 'up', detail: redactSecrets(s.detail) })),
  };
}

async function jetstreamPart(cfg: Config, report: Report): Promise<Part> {
  const nc = await connectNats(cfg, 'p8fs-status');
  try {
    const jsm = await jetstreamManager(nc);
    const { streams, bridgeConsumer } = await streamStats(jsm, cfg);
    const letters = await listDeadLetters(jsm, cfg, 100_000);
    const byReason: Record<string, number> = {};
    // Reasons name the file; the kind of failure is what an operator groups by (text before the first ':').
    for (const l of letters) {
      const kind = l.letter.reason.split(/[:(]/, 1)[0]?.trim() || l.letter.reason;
      byReason[kind] = (byReason[kind] ?? 0) + 1;
    }
    if (letters.length > 0) report.warnings.push(`${letters.length} dead letter(s): see \`p8fs dlq list\``);
    return { streams, bridgeConsumer, deadLetters: { total: letters.length, byReason } };
  } finally {
    await nc.close();
  }
}

async function subscriberPart(cfg: Config): Promise<Part> {
  const { cursorBucket, name, healthPort } = cfg.subscriber;
  const nc = await connectNats(cfg, 'p8fs-status');
  const part: Part = { name, cursorBucket };
  try {
    const cursor = await readCursor(nc, cursorBucket, name);
    if (cursor && /^\d+$/.test(cursor)) {
      part.cursorNs = cursor;
      part.cursorTime = new Date(Number(BigInt(cursor) / 1_000_000n)).toISOString();
      part.cursorAgeSeconds = Number(cursorAgeSeconds(cursor).toFixed(1));
    } else {
      part.cursorNs = null;
    }
  } finally {
    await nc.close();
  }
  if (healthPort > 0) {
    const health = await fetch(`http://127.0.0.1:${healthPort}/health`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.json() as Promise<Record<string, unknown>>)
      .catch(() => undefined);
    part.process = health
      ? {
          status: health.status,
          filer: health.filer,
          nats: health.nats,
          lagSeconds: health.lagSeconds,
          counters: health.counters,
        }
      : `not answering on http://127.0.0.1:${healthPort}/health`;
  }
  return part;
}

/** e.g. `embeddings (all-MiniLM-L6-v2): completed files 12 done, 3 pending; vectors 840` */
function embeddingsLine(e: unknown): string {
  if (typeof e === 'string') return `embeddings: ${e}`;
  const { provider, enabled, files, vectors } = e as {
    provider: string;
    enabled: boolean;
    files: Record<string, number>;
    vectors: Record<string, number>;
  };
  const byState =
    Object.entries(files)
      .map(([state, n]) => `${n} ${state}`)
      .join(', ') || 'none';
  const others = Object.entries(vectors).filter(([name]) => name !== provider);
  const other =
    others.length > 0 ? ` (other providers: ${others.map(([n, c]) => `${n} ${c}`).join(', ')})` : '';
  return `embeddings (${provider}${enabled ? '' : ', off'}): completed files ${byState}; vectors ${vectors[provider] ?? 0}${other}`;
}

async function databasePart(cfg: Config): Promise<Part> {
  const pool = createPool(cfg, 1);
  try {
    const client = await pool.connect();
    const state = await schemaState(client).finally(() => client.release());
    // Behind is fine here (the counts read 0001's columns); missing, whether empty or the original
    // P8FS's tables not adopted yet, has nothing of ours to count.
    if (state.kind === 'missing') throw new Error(schemaProblem(cfg.pg.database, state));
    const files = await pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM files GROUP BY status ORDER BY status',
    );
    const resources = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM resources');
    const errors = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM errors WHERE date > now() - interval '1 day'",
    );
    // Completed files by embedding state (docs/EMBEDDINGS.md): a schema behind 0011 has none to count.
    const provider = embeddingProviderFromConfig(cfg).name;
    const embeddings = await embeddingTotals(pool, provider).then(
      (totals) => ({ provider, enabled: cfg.embeddings.enabled, ...totals }),
      (error: unknown) => `unknown: ${errorText(error)}`,
    );
    return {
      files: Object.fromEntries(files.rows.map((r) => [r.status, r.n])),
      resources: resources.rows[0]?.n ?? 0,
      embeddings,
      errorsLastDay: errors.rows[0]?.n ?? 0,
    };
  } finally {
    await pool.end();
  }
}

async function temporalPart(cfg: Config, report: Report): Promise<Part> {
  const client = await connectTemporal(cfg);
  try {
    const queues = await taskQueueStats(client, cfg);
    for (const queue of queues) {
      for (const kind of ['workflow', 'activity'] as const) {
        const { backlog, pollers } = queue[kind];
        if (backlog > 0 && pollers === 0)
          report.warnings.push(`${queue.name}: ${backlog} ${kind} task(s) waiting and no worker polling`);
      }
    }
    return {
      taskQueues: queues,
      workflows: await workflowCounts(client),
      ui: `${cfg.temporal.uiUrl}/namespaces/${cfg.temporal.namespace}/workflows`,
    };
  } finally {
    await client.connection.close();
  }
}

function printText(report: Report): void {
  const show = (title: string, lines: () => string[]) => {
    console.log(`\n${title}`);
    const part = report.parts[title];
    if (part && 'error' in part && typeof part.error === 'string') {
      console.log(`  unavailable: ${part.error}`);
      return;
    }
    for (const line of lines()) console.log(`  ${redactSecrets(line)}`);
  };
  const p = (name: string) => report.parts[name] as Record<string, unknown>;
  show('Servers', () =>
    String(p('Servers').text)
      .split('\n')
      .map((l) => l.trim()),
  );
  show('JetStream', () => {
    const js = p('JetStream');
    const lines = Object.entries(js.streams as Record<string, { messages: number } | null>).map(
      ([name, s]) =>
        s ? `${name}: ${s.messages} messages stored` : `${name}: not created yet (start the bridge)`,
    );
    const c = js.bridgeConsumer as {
      name: string;
      pending: number;
      ackPending: number;
      redelivered: number;
    } | null;
    if (c)
      lines.push(
        `consumer ${c.name}: ${c.pending} waiting, ${c.ackPending} in flight, ${c.redelivered} redelivered`,
      );
    const dl = js.deadLetters as { total: number; byReason: Record<string, number> };
    lines.push(
      `dead letters: ${dl.total}${
        dl.total
          ? ` (${Object.entries(dl.byReason)
              .map(([r, n]) => `${n} ${r}`)
              .join('; ')})`
          : ''
      }`,
    );
    return lines;
  });
  show('Filer subscriber', () => {
    const s = p('Filer subscriber');
    const lines = [
      s.cursorNs
        ? `${s.name} cursor: ts_ns ${s.cursorNs} (${s.cursorTime}, ${s.cursorAgeSeconds} s ago; KV ${s.cursorBucket})`
        : `${s.name} cursor: none yet (start \`p8fs subscriber\`)`,
    ];
    const proc = s.process as Record<string, unknown> | string | undefined;
    if (typeof proc === 'string') lines.push(`${s.name}: ${proc}`);
    else if (proc) {
      const counters = (proc.counters ?? {}) as Record<string, number>;
      lines.push(
        `${s.name}: ${String(proc.status)}, filer ${String(proc.filer)}, NATS ${String(proc.nats)}, lag ${Number(proc.lagSeconds ?? 0).toFixed(1)} s, ${counters.published ?? 0} published, ${counters.skipped ?? 0} skipped`,
      );
    }
    return lines;
  });
  show('PostgreSQL', () => {
    const d = p('PostgreSQL');
    const files = Object.entries(d.files as Record<string, number>);
    return [
      `files: ${files.map(([status, n]) => `${n} ${status}`).join(', ') || 'none'}`,
      `resources: ${d.resources}`,
      embeddingsLine(d.embeddings),
      `errors in the last 24 h: ${d.errorsLastDay}`,
    ];
  });
  show('Temporal', () => {
    const t = p('Temporal');
    const lines = (t.taskQueues as { name: string; workflow: Part; activity: Part }[]).map(
      (q) =>
        `${q.name}: backlog ${q.workflow.backlog} workflow / ${q.activity.backlog} activity tasks; pollers ${q.workflow.pollers} workflow / ${q.activity.pollers} activity`,
    );
    for (const [type, c] of Object.entries(t.workflows as Record<string, Part>))
      lines.push(`${type}: ${c.running} running, ${c.failed} failed (retained history)`);
    lines.push(`UI: ${t.ui}`);
    return lines;
  });
  console.log('');
  for (const w of report.warnings) console.log(`warning: ${w}`);
  for (const problem of report.problems) console.log(`PROBLEM: ${problem}`);
  console.log(report.ok ? 'status: ok' : 'status: a required part is down or unreachable (exit 1)');
}

export async function collectStatus(cfg: Config): Promise<Report> {
  const report: Report = { ok: true, problems: [], warnings: [], parts: {} };
  await gather(report, 'Servers', true, () => serversPart(cfg, report));
  await gather(report, 'JetStream', true, () => jetstreamPart(cfg, report));
  await gather(report, 'Filer subscriber', false, () => subscriberPart(cfg));
  await gather(report, 'PostgreSQL', true, () => databasePart(cfg));
  await gather(report, 'Temporal', true, () => temporalPart(cfg, report));
  report.ok = report.problems.length === 0;
  return report;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'Show servers, event backlog, dead letters by reason, task queue backlogs and pollers, workflows, files, the subscriber; exit 1 when a required part is down',
    )
    .option('--json', 'print one JSON document instead of text')
    .action(async (options: { json?: boolean }) => {
      const report = await collectStatus(loadConfig());
      if (options.json) {
        const { Servers, ...rest } = report.parts;
        const servers = Servers && 'servers' in Servers ? Servers.servers : Servers;
        console.log(JSON.stringify({ ...report, parts: { Servers: servers, ...rest } }, null, 2));
      } else {
        printText(report);
      }
      if (!report.ok) process.exitCode = 1;
    });
}
