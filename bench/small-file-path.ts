/**
 * Small files through the real ingestFile workflow and a real small-tier worker (test stack), one
 * activity per file (ingestSmallFile) against the four steps (the same worker code with
 * P8FS_SINGLE_ACTIVITY_MAX_BYTES=0: ingestSmallFile registers, then extractText → chunkText →
 * storeChunks). Measured side by side on the same machine and data; N files of ~4 KB Markdown each.
 *
 *   npx tsx bench/small-file-path.ts            (P8FS_BENCH_SMALL_FILES=200 by default)
 */
import { parseStorageEvent } from '../src/domain/storage-event.js';
import { stackUp } from '../src/stack/stack.js';
import { taskQueueFor } from '../src/temporal/names.js';
import { startIngestFile } from '../src/temporal/starts.js';
import { createPipeline } from '../test/support/pipeline.js';
import { testStackConfig, uniqueTenant } from '../test/support/test-stack.js';
import { type BenchSection, fixed, markdownTable, progress } from './lib.js';

const FILES = Number(process.env.P8FS_BENCH_SMALL_FILES ?? 200);

function markdown(i: number): string {
  const para = `Paragraph about file ${i}: small files are most of what users upload, and each one pays the per-file overhead. `;
  return `# File ${i}\n\n${para.repeat(36)}\n`;
}

async function runOnce(
  label: string,
  maxBytes: number,
): Promise<{ filesPerSecond: number; activities: number }> {
  const p = await createPipeline(`smallpath-${label}`, {
    P8FS_SINGLE_ACTIVITY_MAX_BYTES: String(maxBytes),
    P8FS_WORKFLOW_BUNDLE: 'source',
  });
  try {
    await p.startWorkers(['small']);
    const tenant = uniqueTenant(`sp-${label}`);
    for (let i = 0; i < FILES; i += 50)
      await Promise.all(
        Array.from({ length: Math.min(50, FILES - i) }, (_, j) =>
          p.putObject(tenant, `uploads/f${i + j}.md`, markdown(i + j), 'text/markdown'),
        ),
      );
    // A warm-up file (bundle loaded, extraction process forked) before the clock starts.
    const start = async (key: string, id: string) => {
      const parsed = parseStorageEvent({ event_type: 'create', path: `/buckets/${tenant}/${key}` });
      if (parsed.kind !== 'event') throw new Error(parsed.reason);
      return startIngestFile(
        p.temporal,
        { event: parsed.event, tier: 'small', version: id, source: 'bench' },
        { taskQueue: taskQueueFor(p.cfg, 'small'), workflowId: `bench-${label}-${id}-${key}` },
      );
    };
    await (await start('uploads/f0.md', 'warm')).result();
    const t0 = performance.now();
    const handles = await Promise.all(
      Array.from({ length: FILES }, (_, i) => start(`uploads/f${i}.md`, 'run')),
    );
    const outcomes = await Promise.all(handles.map((h) => h.result()));
    const seconds = (performance.now() - t0) / 1000;
    const bad = outcomes.filter((o) => o.status !== 'completed');
    if (bad.length > 0)
      throw new Error(`${label}: ${bad.length} files did not complete: ${JSON.stringify(bad[0])}`);
    const history = await handles[0]?.fetchHistory();
    const activities = (history?.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
    progress(`${label}: ${FILES} files in ${fixed(seconds, 1)} s, ${activities} activities per file`);
    return { filesPerSecond: FILES / seconds, activities };
  } finally {
    await p.close();
  }
}

export async function runSmallFilePathBench(): Promise<BenchSection> {
  await stackUp(testStackConfig(), () => undefined);
  // Interleaved twice, so a noisy minute does not favour one side.
  const steps: number[] = [];
  const one: number[] = [];
  let activities = { steps: 0, one: 0 };
  for (let round = 0; round < 2; round++) {
    const s = await runOnce(`steps${round}`, 0);
    const o = await runOnce(`one${round}`, 8 * 1024 * 1024);
    steps.push(s.filesPerSecond);
    one.push(o.filesPerSecond);
    activities = { steps: s.activities, one: o.activities };
  }
  const best = (xs: number[]) => Math.max(...xs);
  const table = markdownTable(
    ['path', 'activities / file', 'S3 requests / file', 'files/s (best of 2)', 'ratio'],
    ['l', 'r', 'r', 'r', 'r'],
    [
      ['four steps', String(activities.steps), '7', fixed(best(steps), 1), '1.00×'],
      [
        'one activity',
        String(activities.one),
        '3',
        fixed(best(one), 1),
        `${fixed(best(one) / best(steps))}×`,
      ],
    ],
  );
  const ratio = best(one) / best(steps);
  return {
    title: 'Small files: one activity against four',
    compared: `${FILES} × 4 KB Markdown through ingestFile on a real small-tier worker (workflows started directly, no bridge): ingestSmallFile against the four steps (P8FS_SINGLE_ACTIVITY_MAX_BYTES=0), two interleaved rounds`,
    table,
    interpretation: `one activity per small file ingests ${fixed(ratio)}× the files per second of the four steps`,
    notMeasured: [
      'local activities (not built: they cannot heartbeat, which extraction, chunking and the store rely on)',
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const section = await runSmallFilePathBench();
  console.log(JSON.stringify(section, null, 2));
  process.exit(0);
}
