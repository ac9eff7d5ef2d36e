/**
 * The large tier's heap ceiling applied by `p8fs worker --tier large` itself (src/cli/heap-ceiling.ts):
 * the real CLI as a child process on the test stack restarts once with the V8 flags, the restarted worker
 * has them, SIGTERM still drains and ends both, and a SIGKILLed parent does not leave the worker running.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heapCeilingRestartFlags } from '../../src/cli/heap-ceiling.js';
import { loadConfig } from '../../src/config/config.js';
import { projectRoot } from '../../src/config/project-root.js';
import { LARGE_TIER_V8_FLAGS } from '../../src/domain/tiers.js';
import { startCli } from '../support/cli.js';
import { createTestDatabase, dropTestDatabase } from '../support/database.js';
import { eventually } from '../support/pipeline.js';
import { isolatedEnv } from '../support/test-stack.js';

const FLAGS = LARGE_TIER_V8_FLAGS.split(' ');
const GiB = 1024 ** 3;
const env = isolatedEnv('heap', {
  P8FS_WORKER_METRICS_PORT: '0',
  P8FS_LOG_FORMAT: 'json',
  P8FS_LOG_LEVEL: 'info',
  P8FS_WORKER_SHUTDOWN_GRACE_SECONDS: '2',
  NODE_OPTIONS: '',
});

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

/** Running: a process that exists and is not a zombie (an orphan's exit waits for init to reap it). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('heap ceiling decision', () => {
  const roomy = { execArgv: [], heapLimitBytes: 4 * GiB };
  it('restarts only a worker serving the large tier alone, without a ceiling already', () => {
    expect(heapCeilingRestartFlags(['large'], FLAGS, roomy)).toEqual(FLAGS);
    expect(heapCeilingRestartFlags(['small'], FLAGS, roomy)).toEqual([]);
    expect(heapCeilingRestartFlags(['medium', 'large'], FLAGS, roomy)).toEqual([]);
    expect(heapCeilingRestartFlags(['large'], [], roomy)).toEqual([]);
    expect(
      heapCeilingRestartFlags(['large'], FLAGS, {
        execArgv: ['--max-old-space-size=512'],
        heapLimitBytes: 4 * GiB,
      }),
    ).toEqual([]);
    // NODE_OPTIONS is not in execArgv, but its ceiling shows in V8's limit.
    expect(
      heapCeilingRestartFlags(['large'], FLAGS, { execArgv: [], heapLimitBytes: 300 * 1024 ** 2 }),
    ).toEqual([]);
  });
});

describe('p8fs worker --tier large (real process, test stack)', () => {
  // A worker takes work only against a migrated schema (src/workers/schema-gate.ts).
  let pool: pg.Pool | undefined;
  beforeAll(async () => {
    pool = await createTestDatabase(loadConfig(env));
  });
  afterAll(async () => {
    if (pool) await dropTestDatabase(loadConfig(env), pool);
  });

  it('runs the worker in a child with the V8 flags; SIGTERM drains and ends both', async () => {
    const parent = startCli(['worker', '--tier', 'large'], env);
    await parent.waitFor(/restarting the worker with a heap ceiling/, 60_000);
    await parent.waitFor(/workers running/, 90_000);
    // The restarted worker is the child running the CLI (tsx may run an esbuild child beside it).
    const cmdlineOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const worker = childrenOf(parent.child.pid as number).find((pid) =>
      cmdlineOf(pid).some((arg) => arg.endsWith('src/cli/run.ts')),
    );
    expect(worker).toBeDefined();
    const cmdline = cmdlineOf(worker as number);
    for (const flag of FLAGS) expect(cmdline).toContain(flag);
    const started = Date.now();
    parent.child.kill('SIGTERM');
    expect(await parent.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(alive(worker as number)).toBe(false);
    expect(parent.output()).toMatch(/workers stopped/);
  }, 150_000);

  it('a restarted worker ends when its parent is SIGKILLed (the IPC channel closes)', async () => {
    // The same guard the worker installs (stopOnParentExit), in a small node child of a parent we kill.
    const script = [
      "const { spawn } = require('node:child_process');",
      "const child = spawn(process.execPath, ['--import', 'tsx', '-e', `",
      "  import { stopOnParentExit } from './src/cli/heap-ceiling.ts';",
      '  stopOnParentExit({ warn() {} });',
      "  process.send('watching');",
      '  setInterval(() => {}, 1000);',
      "`], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });",
      // The pid once the child watches its channel (a child still starting when its parent dies is the
      // other case, covered by the check of process.connected at start).
      "child.once('message', () => console.log(child.pid));",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const parent = spawn(process.execPath, ['-e', script], {
      cwd: projectRoot(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid = await new Promise<number>((resolve) =>
      parent.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
    );
    expect(alive(pid)).toBe(true);
    parent.kill('SIGKILL');
    await eventually(
      `child ${pid} to end after its parent died`,
      async () => (alive(pid) ? undefined : true),
      10_000,
    );
  }, 60_000);
});
