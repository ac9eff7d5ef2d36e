import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { projectRoot } from '../../src/config/project-root.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `p8fs` entry point from source (through tsx) as a child process. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  input?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
      cwd: projectRoot(),
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export interface RunningCli {
  child: ChildProcess;
  output(): string;
  /** Resolves when the combined output matches `pattern`; rejects after `timeoutMs` or if the process exits. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/** Starts a long-running `p8fs` process (bridge, worker) from source; the caller stops it with a signal. */
export function startCli(args: string[], env: Record<string, string | undefined> = {}): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
    cwd: projectRoot(),
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    async waitFor(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (child.exitCode !== null) throw new Error(`p8fs ${args.join(' ')} exited: ${output}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** The last `maxLines` lines of its stdout and stderr. */
  output: string[];
  exited: Promise<void>;
}

/** process.env without any setting of ours, so a child reads exactly the environment a test gives it. */
export function envWithoutOurSettings(): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(P8FS_|TEMPORAL_|DATABASE_URL$)/.test(key)) continue;
    base[key] = value;
  }
  return base;
}

/**
 * `p8fs worker --tier small` (or `options.tier`) as a child process with exactly `env` (an isolated test environment), from
 * source through tsx or, with `fromDist`, the built `bin/p8fs.js`.
 */
export function spawnWorkerProcess(
  env: Record<string, string | undefined>,
  options: { fromDist?: boolean; maxLines?: number; tier?: 'small' | 'medium' | 'large' } = {},
): WorkerProcess {
  const childEnv = envWithoutOurSettings();
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  const entry = options.fromDist ? ['bin/p8fs.js'] : ['--import', 'tsx', 'src/cli/run.ts'];
  const child = spawn(process.execPath, [...entry, 'worker', '--tier', options.tier ?? 'small'], {
    cwd: projectRoot(),
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const maxLines = options.maxLines ?? 200;
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString().split('\n').filter(Boolean));
    if (output.length > maxLines) output.splice(0, output.length - maxLines);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return { child, pid: child.pid ?? -1, output, exited };
}

/** The last lines of a server's log file, for test failure messages. */
export function logFileTail(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
