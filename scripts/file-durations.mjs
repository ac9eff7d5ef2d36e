// Writes test/file-durations.json (seconds per test file, slowest first) from a vitest JSON report, for
// the slowest-first order of test/support/sequencer.ts. Run after a full `make test`.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const file = process.argv[2] ?? '.vitest-report.json';
const report = JSON.parse(readFileSync(file, 'utf8'));
const rows = report.testResults
  .map((t) => [relative(process.cwd(), t.name), Math.round((t.endTime - t.startTime) / 100) / 10])
  .sort((a, b) => b[1] - a[1]);
writeFileSync('test/file-durations.json', `${JSON.stringify(Object.fromEntries(rows), null, 2)}\n`);
console.log(`test/file-durations.json: ${rows.length} files, ${rows.reduce((s, r) => s + r[1], 0).toFixed(0)} s in all`);
