/**
 * Test files in the order that finishes soonest on two workers: the slowest first (durations measured in
 * a full run, test/file-durations.json), so no long file starts last and runs alone at the end. Files
 * not measured yet go by vitest's own order after them. `npm run test:durations` re-measures the list
 * from the last run's JSON report (.vitest-report.json).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { TestSpecification } from 'vitest/node';
import { BaseSequencer } from 'vitest/node';

function measured(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(new URL('../file-durations.json', import.meta.url), 'utf8'));
  } catch {
    return {};
  }
}

export class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seconds = measured();
    const base = await super.sort(files);
    const rank = new Map(base.map((spec, index) => [spec, index]));
    const of = (spec: TestSpecification) =>
      seconds[relative(spec.project.config.root, spec.moduleId).replaceAll('\\', '/')];
    return [...base].sort((a, b) => {
      const da = of(a);
      const db = of(b);
      if (da !== undefined && db !== undefined) return db - da;
      if (da !== undefined) return -1;
      if (db !== undefined) return 1;
      return (rank.get(a) ?? 0) - (rank.get(b) ?? 0);
    });
  }
}
