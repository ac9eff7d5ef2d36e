/**
 * The sessions-and-documents part of `p8fs demo`: the moments task over the demo tenant's chat sessions
 * and ingested documents (a month's window, so a second demo run finds them cited and adds nothing),
 * the moments they gave, read back from the table, the tenant's user summary (p8fs-user-info), and
 * resource affinity with one file's related files. The caller runs an LLM worker.
 */
import type pg from 'pg';
import { createPool } from '../clients/postgres.js';
import { findRelatedTarget, relatedResources } from '../db/affinity.js';
import { listMoments } from '../db/moments.js';
import type { MomentsDemoContext } from './demo-moments.js';
import { runAffinityTask, runMomentsTask, runUserSummaryTask } from './tenant-tasks.js';

const SHOWN = 5;

export async function runTenantInsightsDemo(ctx: MomentsDemoContext): Promise<boolean> {
  const { cfg, client, say, tenantId } = ctx;
  const quiet = () => undefined;
  const outcome = await runMomentsTask(cfg, client, { tenantId, lookbackHours: 24 * 30 }, quiet);
  say(
    outcome.status === 'skipped'
      ? 'moments from sessions and documents: nothing new in the window (an earlier run cited them all)'
      : `moments from sessions and documents: ${outcome.moments} moment(s) from ${outcome.built} source(s) (${outcome.sessions} session(s), ${outcome.resources} resource(s)), ${outcome.provider}`,
  );
  const pool = createPool(cfg, 1);
  try {
    const { moments, total } = await listMoments(pool, { tenantId, limit: 200 });
    const fromSources = moments.filter((m) => m.metadata.source === 'moments-task');
    say(`  ${fromSources.length} of the tenant's ${total} moment(s) come from sessions and documents, e.g.:`);
    for (const m of fromSources.slice(0, SHOWN)) {
      const from =
        m.metadata.source_type === 'chat_session'
          ? `session ${(m.metadata.session_ids as string[] | undefined)?.[0] ?? ''}`
          : `document ${(m.metadata.resource_names as string[] | undefined)?.[0] ?? ''}`;
      say(`    - [${m.moment_type}] ${m.name} (${from}; topics ${m.topic_tags.slice(0, 3).join(', ')})`);
    }
    say(`  p8fs moments list --tenant ${tenantId}`);
    const summary = await runUserSummaryTask(cfg, client, { tenantId }, quiet);
    const row = await pool.query<{ content: string }>('SELECT content FROM resources WHERE id = $1', [
      summary.resourceId,
    ]);
    say(`user summary (p8fs-user-info, ${summary.generatedBy}):`);
    for (const line of (row.rows[0]?.content ?? '').split('\n').filter(Boolean)) say(`  ${line}`);
    await affinityDemo(ctx, pool);
    return fromSources.length > 0 && row.rows.length === 1;
  } finally {
    await pool.end();
  }
}

/**
 * Resource affinity over the demo tenant's chunks (their vectors come from ingestion, P8FS_EMBEDDINGS_ENABLED
 * on by default), then the related files of the file holding the strongest edge. A second demo run links
 * nothing new and shows the same list.
 */
async function affinityDemo(ctx: MomentsDemoContext, pool: pg.Pool): Promise<void> {
  const { cfg, client, say, tenantId } = ctx;
  const outcome = await runAffinityTask(cfg, client, { tenantId }, () => undefined);
  say(
    outcome.status === 'skipped'
      ? `resource affinity: nothing to link (${outcome.reason})`
      : `resource affinity: ${outcome.linked} resource(s) linked by ${outcome.provider} vectors, ${outcome.edgesAdded} new edge(s)`,
  );
  const strongest = await pool.query<{ file_id: string }>(
    `SELECT r.file_id FROM resources r, jsonb_array_elements(r.graph_paths) e
      WHERE r.tenant_id = $1 AND r.file_id IS NOT NULL AND jsonb_typeof(r.graph_paths) = 'array'
      ORDER BY (e->>'weight')::float8 DESC, r.id LIMIT 1`,
    [tenantId],
  );
  const fileId = strongest.rows[0]?.file_id;
  const target = fileId ? await findRelatedTarget(pool, tenantId, fileId, 'file') : null;
  if (!target) {
    say('  no edges yet: the chunks need vectors (P8FS_EMBEDDINGS_ENABLED, or p8fs embed backfill)');
    return;
  }
  const related = await relatedResources(pool, tenantId, target.resourceIds, SHOWN);
  say(`  files related to ${target.name}:`);
  for (const r of related)
    say(
      `    - ${r.file_name ?? r.name}: weight ${r.weight.toFixed(2)}, ${r.rel_type} (${r.match_type ?? 'unknown'})`,
    );
  say(`  p8fs related ${target.name} --tenant ${tenantId}`);
}
