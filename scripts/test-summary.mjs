// Prints vitest's totals as one plain line, "N passed, N failed[, N skipped]", for readers of CI logs
// that look for it, from the JSON report written by `vitest run --reporter=json`.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.vitest-report.json';
try {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  const line = `${report.numPassedTests} passed, ${report.numFailedTests} failed`;
  console.log(skipped > 0 ? `${line}, ${skipped} skipped` : line);
} catch (error) {
  console.log(`no test report at ${file}: ${error instanceof Error ? error.message : error}`);
}
