/**
 * Runs the outside tools media providers need (ffmpeg, ffprobe, tesseract, pdftoppm, Python) so that none
 * can outlive its extraction:
 *
 * - the signal kills the tool (SIGKILL) and the run rejects with the signal's reason;
 * - a timeout kills it too and rejects with a ToolTimeoutError naming the tool and the file;
 * - in a worker, extractions run in a child process that the worker SIGKILLs to cancel them, which no
 *   handler in that process sees: each tool is started through util-linux's `setpriv --pdeathsig KILL`,
 *   so the kernel kills the tool when the extraction process dies (where setpriv exists; it does on
 *   Debian and most Linux distributions);
 * - what a tool prints is kept only up to a bound, so a chatty tool cannot fill memory.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A tool is not installed (or not where the setting points): a setup problem, retried once fixed. */
export class ToolUnavailableError extends Error {
  override readonly name = 'ToolUnavailableError';
}

/** A tool ran past its time: retryable (a loaded machine), the message names tool and file. */
export class ToolTimeoutError extends Error {
  override readonly name = 'ToolTimeoutError';
}

export interface ToolRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  signal: AbortSignal;
  timeoutMs: number;
  /** What the tool works on, for messages ("Sample.wav"). */
  fileName: string;
  /** The variable that names this tool's command, for the "not installed" message. */
  variable: string;
  /** Bytes of stdout kept (the rest is dropped); stderr keeps its last 8 KiB. */
  maxStdout?: number;
  env?: NodeJS.ProcessEnv;
  /** Called with each chunk of stdout as it arrives (for line protocols). */
  onStdout?: (chunk: string) => void;
}

let setprivChecked: boolean | undefined;
/** True when `setpriv --pdeathsig` works here (checked once per process). */
function hasPdeathsig(): boolean {
  if (setprivChecked === undefined) {
    const probe = spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' });
    setprivChecked = probe.status === 0;
  }
  return setprivChecked;
}

/** Starts `command args` tied to this process's life (see the module comment). */
export function startTool(command: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const [file, argv] = hasPdeathsig()
    ? ['setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]]
    : [command, args];
  return spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
}

/** The last non-empty line a tool printed on stderr: its reason, in its own words. */
export function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? '';
}

/**
 * Why a tool failed, in its own words (its last stderr line), with the local path replaced by the file's
 * real name: temp paths mean nothing to the person who uploaded the file.
 */
export function toolReason(run: ToolRun, path: string, fileName: string): string {
  const line = lastLine(run.stderr).split(`file:${path}`).join(fileName).split(path).join(fileName);
  return line || (run.signal ? `killed by ${run.signal}` : `exit code ${run.code}`);
}

/**
 * Runs a tool to its end. Resolves with its exit status and output whatever the status (callers decide
 * what a failure means for the file); rejects when it cannot be started, is cancelled or times out.
 */
export function runTool(command: string, args: string[], options: RunOptions): Promise<ToolRun> {
  const { signal } = options;
  signal.throwIfAborted();
  const maxStdout = options.maxStdout ?? 64 * 1024 * 1024;
  return new Promise<ToolRun>((resolve, reject) => {
    const child = startTool(command, args, options.env);
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (error: Error | undefined, run?: ToolRun) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(run as ToolRun);
    };
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const onAbort = () => {
      kill();
      finish(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    };
    const timer = setTimeout(() => {
      kill();
      finish(
        new ToolTimeoutError(
          `${command} ran longer than ${Math.round(options.timeoutMs / 1000)} s on ${options.fileName} and was stopped`,
        ),
      );
    }, options.timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      options.onStdout?.(chunk);
      if (stdout.length < maxStdout) stdout += chunk.slice(0, maxStdout - stdout.length);
    });
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8192);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      finish(
        error.code === 'ENOENT'
          ? new ToolUnavailableError(
              `${command} is not installed (${options.variable}=${command} was not found); scripts/install-servers.sh installs it`,
            )
          : error,
      );
    });
    child.on('close', (code, sig) => {
      // setpriv exits 127 (or says so) when it cannot find the tool it should run.
      if (code === 127 && /No such file|cannot execute|failed to execute/i.test(stderr)) {
        finish(
          new ToolUnavailableError(
            `${command} is not installed (${options.variable}=${command} was not found); scripts/install-servers.sh installs it`,
          ),
        );
        return;
      }
      finish(undefined, { code, signal: sig, stdout, stderr });
    });
  });
}

/** A private temp folder for one extraction, removed afterwards whatever happens. */
export async function withTempDir<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `p8fs-${prefix}-`));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
