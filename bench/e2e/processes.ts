/**
 * The processes the end-to-end bench runs, each a separate OS process as in production: the built
 * `p8fs bridge` and `p8fs worker --tier small` (node bin/p8fs.js, i.e. dist/), and the ceiling's no-op
 * worker (bench/noop/worker.ts under tsx). Started with exactly the bench's isolated environment.
 */
import { spawn } from 'node:child_process';
import { projectRoot } from '../../src/config/project-root.js';
import { envWithoutOurSettings, spawnWorkerProcess, type WorkerProcess } from '../../test/support/cli.js';

export type BenchProcess = WorkerProcess & { name: string };

function spawnNode(name: string, args: string[], env: Record<string, string | undefined>): BenchProcess {
  const childEnv = envWithoutOurSettings();
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  const child = spawn(process.execPath, args, {
    cwd: projectRoot(),
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString().split('\n').filter(Boolean));
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return { name, child, pid: child.pid ?? -1, output, exited };
}

export function startBridge(env: Record<string, string | undefined>): BenchProcess {
  return spawnNode('bridge', ['bin/p8fs.js', 'bridge'], env);
}

export function startSmallWorker(env: Record<string, string | undefined>): BenchProcess {
  return { name: 'worker', ...spawnWorkerProcess(env, { fromDist: true, tier: 'small' }) };
}

export function startNoopWorker(env: Record<string, string | undefined>): BenchProcess {
  return spawnNode('noop worker', ['--import', 'tsx', 'bench/noop/worker.ts'], env);
}

/** Resolves once a line of the process's output matches `pattern`; fails if it exits or takes too long. */
export async function ready(proc: BenchProcess, pattern: RegExp, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!proc.output.some((line) => pattern.test(line))) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null)
      throw new Error(`${proc.name} exited before it was ready:\n${proc.output.slice(-30).join('\n')}`);
    if (Date.now() > deadline)
      throw new Error(
        `${proc.name} not ready after ${timeoutMs / 1000} s:\n${proc.output.slice(-30).join('\n')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Fails with the process's last lines if it has ended (a crash mid-run must not look like slowness). */
export function assertAlive(proc: BenchProcess): void {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null)
    throw new Error(`${proc.name} exited during the run:\n${proc.output.slice(-30).join('\n')}`);
}

/** SIGTERM, up to 20 s to drain, then SIGKILL: only ever the processes this bench started. */
export async function stop(proc: BenchProcess | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  await Promise.race([proc.exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await proc.exited;
}
