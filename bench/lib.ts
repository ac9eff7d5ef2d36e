/**
 * Helpers shared by the benches that bench/run.ts runs: timing, number formatting, markdown tables,
 * progress lines. Benchmarks report ratios measured side by side in one run; nothing here asserts on time.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExtractedDocument } from '../src/domain/content.js';

/** One section of docs/PERFORMANCE.md. */
export interface BenchSection {
  title: string;
  /** What is compared with what, on which data. */
  compared: string;
  /** Markdown table (may be followed by a note paragraph). */
  table: string;
  /** One line, computed from the numbers in the table. */
  interpretation: string;
  /** Candidates that could not be measured in this run, with the reason. */
  notMeasured: string[];
}

const started = performance.now();

export function progress(line: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(5);
  console.log(`[bench ${seconds}s] ${line}`);
}

/** Integer with thousands separators. */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fixed(n: number, digits = 2): string {
  return n.toFixed(digits);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface Timing {
  bestMs: number;
  medianMs: number;
  runs: number;
}

/**
 * Times several candidates side by side: each round runs every candidate once (after `warmup` untimed
 * rounds), so drift from other load on the machine spreads over all of them alike.
 */
export async function timeInterleaved(
  runs: number,
  works: (() => Promise<unknown> | unknown)[],
  warmup = 1,
): Promise<Timing[]> {
  for (let i = 0; i < warmup; i++) for (const work of works) await work();
  const times: number[][] = works.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, work] of works.entries()) {
      const t0 = performance.now();
      await work();
      (times[k] as number[]).push(performance.now() - t0);
    }
  }
  return times.map((t) => ({ bestMs: Math.min(...t), medianMs: median(t), runs }));
}

/**
 * Best-of-`runs` throughput of synchronous candidates that each handle `units` units per call, run side
 * by side: every round gives each candidate one slice of at least `minRunMs`, repeating its call.
 */
export function interleavedThroughput(
  units: number,
  works: (() => unknown)[],
  runs = 5,
  minRunMs = 200,
): number[] {
  const best = works.map(() => 0);
  for (let run = 0; run < runs; run++) {
    for (const [k, work] of works.entries()) {
      let calls = 0;
      let elapsed = 0;
      const t0 = performance.now();
      do {
        work();
        calls++;
        elapsed = performance.now() - t0;
      } while (elapsed < minRunMs);
      best[k] = Math.max(best[k] as number, (units * calls) / (elapsed / 1000));
    }
  }
  return best;
}

export type Align = 'l' | 'r' | 'c';

export function markdownTable(headers: string[], align: Align[], rows: string[][]): string {
  const rule = align.map((a) => (a === 'r' ? '---:' : a === 'c' ? ':---:' : '---'));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(rule), ...rows.map(line)].join('\n');
}

/** The sample folder next to the project (../shared/samples), as the tests and the demo use it. */
export function samplesDir(): string {
  return path.resolve(process.cwd(), '../shared/samples');
}

/** A document's text as one string, sections separated by blank lines (as the tokenizer bench does). */
export function textOf(doc: ExtractedDocument): string {
  return doc.sections.map((s) => s.text).join('\n\n');
}

export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) {
    return error.errors.map(errorMessage).join('; ');
  }
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return error.message || code || error.name;
  }
  return String(error);
}

/** True when the module at `moduleUrl` (its import.meta.url) is the script node was started with. */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
