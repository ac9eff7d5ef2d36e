/**
 * Runs a `p8fs` command inside the test process (the real command tree from buildProgram, the real
 * config loading from process.env), for tests whose point is the command, not the process: a child
 * process costs seconds of tsx compilation each. The environment is exactly `env` (our settings and
 * model keys from the developer's shell are removed) and restored afterwards; console output is
 * captured; an error prints as src/cli/run.ts prints it, with exit code 1. Vitest runs each test file
 * in its own process (pool forks), so the temporary process.env change stays within the file; calls
 * must not overlap.
 */
import { buildProgram } from '../../src/cli/program.js';
import { errorText } from '../../src/domain/errors.js';
import type { CliResult } from './cli.js';

const OURS = /^(P8FS_|TEMPORAL_|DATABASE_URL$|OPENAI_|ANTHROPIC_)/;

export async function runCliInProcess(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<CliResult> {
  const saved = { ...process.env };
  const savedExitCode = process.exitCode;
  const log = console.log;
  const error = console.error;
  let stdout = '';
  let stderr = '';
  for (const key of Object.keys(process.env)) if (OURS.test(key)) delete process.env[key];
  for (const [key, value] of Object.entries(env)) if (value !== undefined) process.env[key] = value;
  console.log = (...parts: unknown[]) => {
    stdout += `${parts.map(String).join(' ')}\n`;
  };
  console.error = (...parts: unknown[]) => {
    stderr += `${parts.map(String).join(' ')}\n`;
  };
  process.exitCode = undefined;
  let code = 0;
  try {
    await buildProgram().parseAsync(['node', 'p8fs', ...args]);
    code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    stderr += `p8fs: ${errorText(e)}\n`;
    code = 1;
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = savedExitCode;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  return { code, stdout, stderr };
}
