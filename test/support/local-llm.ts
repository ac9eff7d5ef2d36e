/**
 * The `local` LLM provider's test setting, shared by insight-local.test.ts (selection, model header) and
 * insight-local-inference.test.ts (the model's answers, `make chaos`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MOMENTS_DIR } from './moments.js';
import { isolatedEnv } from './test-stack.js';

export function localLlmEnv(): Record<string, string | undefined> {
  return isolatedEnv('local', {
    P8FS_LLM_PROVIDER: 'local',
    // A small window and answer budget keep one generation within seconds on 2 cores.
    // (dream packing keeps ~2.5k tokens for its prompt and file ids, so 4k leaves room for one document).
    P8FS_LOCAL_CONTEXT_TOKENS: '4096',
    P8FS_LLM_MAX_OUTPUT_TOKENS: '600',
    // One answer per call: re-asking is the shared code every provider uses (answers.ts), tested with
    // the loopback servers; here each extra answer would cost tens of seconds.
    P8FS_LLM_SCHEMA_RETRIES: '0',
    P8FS_WORKER_SHUTDOWN_GRACE_SECONDS: '2',
  });
}

/** The shortest sample transcript cut to its first `count` segments (a valid transcript of its own). */
export function shortTranscript(count: number): { raw: Record<string, unknown>; text: string } {
  const raw = JSON.parse(
    readFileSync(join(MOMENTS_DIR, 'transcript_2025-01-14T10-00-00Z_input.json'), 'utf8'),
  ) as { segments: Array<{ timestamp: string; duration_seconds: number }> } & Record<string, unknown>;
  raw.segments = raw.segments.slice(0, count);
  const last = raw.segments.at(-1) as { timestamp: string; duration_seconds: number };
  const end = Date.parse(last.timestamp) + Math.ceil(last.duration_seconds) * 1000;
  raw.end_timestamp = new Date(end).toISOString().replace('.000Z', 'Z');
  raw.duration_seconds = (end - Date.parse(raw.start_timestamp as string)) / 1000;
  return { raw, text: JSON.stringify(raw) };
}
