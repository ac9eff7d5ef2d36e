/**
 * The soak's figures as a table, the verdict (every miss named), and the same figures as JSON and
 * Markdown for docs/RELIABILITY.md.
 */
import type { Accounted, Backlog, Damage, Outcome } from './accounting.js';
import { MISSES } from './accounting.js';
import type { ApiFigures } from './api-client.js';
import type { CrashRecord, FaultRecord } from './faults.js';
import type { SoakSettings } from './plan.js';

export interface SoakFigures {
  settings: SoakSettings & { embeddings?: string };
  startedAt: string;
  uploadSeconds: number;
  /** From the last upload's PUT until every upload was accounted for and nothing was left running. */
  drainSeconds: number;
  drained: boolean;
  totalSeconds: number;
  bytesUploaded: number;
  uploadRetries: number;
  outcomes: Record<Outcome, number>;
  byKind: Record<string, Partial<Record<Outcome, number>>>;
  reasons: Record<string, number>;
  damage: Damage;
  backlog: Backlog;
  api: Omit<ApiFigures, 'uploads'> & { uploads: number };
  faults: FaultRecord[];
  crashes: CrashRecord[];
  misses: string[];
}

/** Every way the run failed; empty means it passed. */
export function misses(f: Omit<SoakFigures, 'misses'>, accounted: Accounted[]): string[] {
  const out: string[] = [];
  for (const a of accounted.filter((x) => MISSES.includes(x.outcome)).slice(0, 20))
    out.push(
      `${a.outcome}: s3://${a.expected.tenant}/${JSON.stringify(a.expected.key)}${a.reason ? ` (${a.reason})` : ''}`,
    );
  const missCount = accounted.filter((x) => MISSES.includes(x.outcome)).length;
  if (missCount > 20) out.push(`… ${missCount - 20} more uploads not accounted for`);
  const d = f.damage;
  const zero: Array<[string, number | null]> = [
    ['duplicate files rows', d.duplicateFiles],
    ['duplicate chunk rows', d.duplicateChunks],
    ['completed files whose chunk_count differs from their rows', d.chunkCountMismatch],
    ['orphan chunk rows', d.orphanChunks],
    ['chunk rows of files not completed', d.chunksOfUnfinished],
    ['files rows nobody uploaded', d.unexpectedFiles],
    ['orphan vectors', d.orphanVectors],
    ['duplicate vectors', d.duplicateVectors],
    ['completed files whose chunks never got vectors', d.filesNotEmbedded],
    ['files stuck pending or processing', d.filesPendingOrProcessing],
    ['workflows still running', f.backlog.runningWorkflows],
    ['events the bridge never took', f.backlog.eventsNotTaken + f.backlog.eventsInFlight],
    ['cross-tenant reads', f.api.crossTenantReads.length],
  ];
  // An outage is a 503 with Retry-After; a 500 is our own failure (src/api/unavailable.ts).
  zero.push(['API answers 500 (an internal error, not an outage)', f.api.errors['500'] ?? 0]);
  for (const [what, n] of zero) if (n) out.push(`${what}: ${n}`);
  if (d.unexpectedPaths.length)
    out.push(
      `files rows nobody uploaded, e.g.: ${d.unexpectedPaths.map((p) => JSON.stringify(p)).join(', ')}`,
    );
  for (const r of f.faults)
    if (r.error) out.push(`fault ${r.fault.action} ${r.fault.target} did not recover: ${r.error}`);
  if (!f.drained) out.push(`not drained within the drain timeout (${f.drainSeconds} s)`);
  return out;
}

function row(cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`;
}

export function markdown(f: SoakFigures): string {
  const lines: string[] = [];
  const s = f.settings;
  lines.push(
    `Seed **${s.seed}** (\`SOAK_SEED=${s.seed} SOAK_UPLOADS=${s.uploads} make soak\`), ${s.uploads} S3 uploads ` +
      `(${(f.bytesUploaded / 1024 / 1024).toFixed(0)} MiB; ${s.large} of 16-48 MiB, ${s.huge} of 100-200 MiB) over ` +
      `${f.uploadSeconds.toFixed(0)} s, ${f.uploadRetries} PUT retries; drain ${f.drainSeconds.toFixed(0)} s after the last upload; ` +
      `${f.totalSeconds.toFixed(0)} s in all. Started ${f.startedAt}.` +
      (s.embeddings ? ` Embeddings: ${s.embeddings} (SOAK_EMBEDDINGS).` : ''),
    '',
    row(['outcome', 'uploads']),
    row(['---', '---:']),
  );
  for (const [outcome, n] of Object.entries(f.outcomes)) lines.push(row([outcome, n]));
  lines.push('', row(['check', 'found']), row(['---', '---:']));
  const d = f.damage;
  const checks: Array<[string, number | string]> = [
    ['duplicate files rows (tenant, uri)', d.duplicateFiles],
    ['duplicate chunk rows (file, ordinal)', d.duplicateChunks],
    ['completed files with chunk_count ≠ rows', d.chunkCountMismatch],
    ['orphan chunk rows', d.orphanChunks],
    ['chunk rows of failed or unfinished files', d.chunksOfUnfinished],
    ['files rows nobody uploaded', d.unexpectedFiles],
    [
      'orphan / duplicate vectors',
      d.orphanVectors === null ? 'no embeddings table' : `${d.orphanVectors} / ${d.duplicateVectors}`,
    ],
    [
      'completed files without vectors / embedding failed (with reason)',
      d.filesNotEmbedded === null
        ? 'not checked (embedding off, or no embedding_status column)'
        : `${d.filesNotEmbedded} / ${d.filesEmbeddingFailed}`,
    ],
    ['files stuck pending or processing', d.filesPendingOrProcessing],
    ['workflows still running', f.backlog.runningWorkflows],
    ['events not taken by the bridge', f.backlog.eventsNotTaken + f.backlog.eventsInFlight],
    ['cross-tenant reads', f.api.crossTenantReads.length],
  ];
  for (const [what, n] of checks) lines.push(row([what, n]));
  const errors =
    Object.entries(f.api.errors)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || 'none';
  lines.push(
    '',
    `API client (two tenants): ${f.api.requests} requests, ${f.api.uploads} uploads, ${f.api.searches} searches ` +
      `(${f.api.searchHitsOwn} own hits); answers other than 2xx/404: ${errors}.`,
    '',
    row(['t (s)', 'fault', 'back after (s)']),
    row(['---:', '---', '---:']),
  );
  for (const r of f.faults) {
    const what = `${r.fault.action} ${r.fault.target}${r.fault.downSeconds ? ` (${r.fault.downSeconds} s down)` : ''}`;
    const back =
      r.recoveredAt !== undefined ? (r.recoveredAt - r.startedAt).toFixed(1) : `not recovered: ${r.error}`;
    lines.push(row([r.startedAt.toFixed(1), what, back]));
  }
  if (f.crashes.length)
    lines.push(
      '',
      `Crashes (exits the soak did not cause; restarted): ${f.crashes.map((c) => `t=${c.at}s ${c.detail}`).join('; ')}.`,
    );
  const reasons = Object.entries(f.reasons)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15);
  if (reasons.length) {
    lines.push(
      '',
      row(['failed or dead-lettered: reason (first 90 characters)', 'uploads']),
      row(['---', '---:']),
    );
    for (const [reason, n] of reasons) lines.push(row([reason.replaceAll('|', '\\|'), n]));
  }
  return lines.join('\n');
}

/** A reason without the parts that differ per file (names, numbers), so alike reasons group. */
export function reasonGroup(reason: string): string {
  return reason
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\S*soak-\d+\.\w+/g, '<file>')
    .replace(/\d+/g, 'N')
    .slice(0, 90);
}
