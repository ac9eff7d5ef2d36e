/**
 * The soak's own stack: the four real servers on ports of their own (16xxx, gRPC 26xxx) and stack folder
 * `.stack/soak`, started and stopped by the product's own server specs (src/stack), so stopping PostgreSQL
 * or restarting Temporal never touches the test stack other test files share; and the product's processes
 * as `p8fs stack up` runs them (built `node bin/p8fs.js`), except that each storage tier is its own
 * process, so each can be SIGKILLed alone: the filer subscriber, the bridge, `worker --tier small`,
 * `--tier medium`, `--tier large`, the dreaming worker and the API.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../../src/config/config.js';
import { projectRoot } from '../../../src/config/project-root.js';
import { resolveStackDir } from '../../../src/stack/paths.js';
import { postgresBaseDir } from '../../../src/stack/postgres-server.js';
import { waitFor } from '../../../src/stack/processes.js';
import { type ServerName, type ServerSpec, stackServers } from '../../../src/stack/servers.js';
import { stackDown, stackUp } from '../../../src/stack/stack.js';

export const SOAK_STACK_DIR = '.stack/soak';

/** The soak stack's addresses: below the ephemeral port range (32768+), apart from the test stack's 2xxxx. */
export const SOAK_ENV: Record<string, string> = {
  P8FS_STACK_DIR: SOAK_STACK_DIR,
  TEMPORAL_ADDRESS: '127.0.0.1:16233',
  P8FS_TEMPORAL_UI_PORT: '16234',
  P8FS_NATS_URL: 'nats://127.0.0.1:16422',
  P8FS_NATS_MONITOR_PORT: '16822',
  P8FS_SEAWEEDFS_ENDPOINT: 'http://127.0.0.1:16333',
  P8FS_SEAWEEDFS_FILER: 'http://127.0.0.1:16888',
  P8FS_SEAWEEDFS_MASTER_PORT: '16933',
  P8FS_SEAWEEDFS_VOLUME_PORT: '16081',
  P8FS_PG_HOST: '127.0.0.1',
  P8FS_PG_PORT: '16543',
  P8FS_PG_DATABASE: 'p8fs_soak',
  P8FS_PG_USER: 'postgres',
  P8FS_API_HOST: '127.0.0.1',
  P8FS_API_PORT: '16080',
  P8FS_BRIDGE_HEALTH_PORT: '16101',
  P8FS_SUBSCRIBER_HEALTH_PORT: '16102',
  P8FS_SUBSCRIBER_START: 'beginning',
  P8FS_LOG_LEVEL: 'info',
  P8FS_LLM_PROVIDER: 'heuristic',
  // Worker shutdown does not matter under SIGKILL; the stack's final stop should not wait 20 s a worker.
  P8FS_WORKER_SHUTDOWN_GRACE_SECONDS: '3',
};

export type ProcessName =
  | 'subscriber'
  | 'bridge'
  | 'worker-small'
  | 'worker-medium'
  | 'worker-large'
  | 'dreaming-worker'
  | 'api';

interface ProcessSpec {
  args: string[];
  readyUrl: string;
  env?: Record<string, string>;
}

/** Workers first (their pollers wait for the bridge's starts), then the bridge, the subscriber, the API. */
const PROCESSES: Record<ProcessName, ProcessSpec> = {
  'worker-small': {
    args: ['worker', '--tier', 'small'],
    readyUrl: 'http://127.0.0.1:16111/metrics',
    env: { P8FS_WORKER_METRICS_PORT: '16111' },
  },
  'worker-medium': {
    args: ['worker', '--tier', 'medium'],
    readyUrl: 'http://127.0.0.1:16112/metrics',
    env: { P8FS_WORKER_METRICS_PORT: '16112' },
  },
  'worker-large': {
    args: ['worker', '--tier', 'large'],
    readyUrl: 'http://127.0.0.1:16113/metrics',
    env: { P8FS_WORKER_METRICS_PORT: '16113' },
  },
  'dreaming-worker': {
    args: ['dreaming-worker'],
    readyUrl: 'http://127.0.0.1:16114/metrics',
    env: { P8FS_WORKER_METRICS_PORT: '16114' },
  },
  bridge: { args: ['bridge'], readyUrl: 'http://127.0.0.1:16101/health' },
  subscriber: { args: ['subscriber'], readyUrl: 'http://127.0.0.1:16102/health' },
  api: { args: ['api'], readyUrl: 'http://127.0.0.1:16080/health' },
};

export const PROCESS_NAMES = Object.keys(PROCESSES) as ProcessName[];

export class SoakStack {
  readonly cfg: Config;
  readonly env: Record<string, string>;
  readonly dir: string;
  private readonly servers: Map<ServerName, ServerSpec>;
  private readonly children = new Map<ProcessName, ChildProcess>();
  /** Process starts per name (1 = never restarted). */
  readonly starts = new Map<ProcessName, number>();

  constructor(extra: Record<string, string> = {}) {
    this.env = { ...SOAK_ENV, ...extra };
    this.cfg = loadConfig(this.env);
    this.dir = resolveStackDir(this.cfg.stack.dir);
    this.servers = new Map(stackServers(this.cfg, this.dir).map((s) => [s.name, s]));
  }

  /** The product build the soak runs: a copy made at its start (see snapshotBuild). */
  get appDir(): string {
    return join(this.dir, 'app');
  }

  /**
   * Copies the built product (dist/, bin/, package.json) into the stack folder and runs that copy: in a
   * checkout where others rebuild dist/ (or add migrations) during the soak's tens of minutes, restarted
   * processes would otherwise run other code than the ones they replace (a run here stalled when the
   * restarted workers wanted a migration the soak's database lacked). node_modules and the installed
   * tools (.stack/venv, postgresql, models) are linked, not copied.
   */
  private snapshotBuild(): void {
    const root = projectRoot();
    if (!existsSync(join(root, 'dist', 'cli', 'run.js')))
      throw new Error('no build in dist/: run `npm run build` (make soak does)');
    mkdirSync(join(this.appDir, '.stack'), { recursive: true });
    for (const part of ['dist', 'bin', 'package.json'])
      cpSync(join(root, part), join(this.appDir, part), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(this.appDir, 'node_modules'));
    for (const tool of ['venv', 'postgresql', 'models'])
      if (existsSync(join(root, '.stack', tool)))
        symlinkSync(join(root, '.stack', tool), join(this.appDir, '.stack', tool));
  }

  logFile(name: ProcessName): string {
    return join(this.dir, 'logs', `${name}.log`);
  }

  /** A fresh stack: any servers an earlier soak left are stopped and its data removed, so a seed repeats. */
  async fresh(say: (line: string) => void): Promise<void> {
    await stackDown(this.cfg, () => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(postgresBaseDir(this.dir), { recursive: true, force: true });
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    this.snapshotBuild();
    await stackUp(this.cfg, (line) => say(`[stack] ${line}`));
  }

  /** `p8fs …` with the soak's environment, to its end (migrate, apikey create). */
  cli(args: string[]): string {
    return execFileSync(process.execPath, [join(this.appDir, 'bin', 'p8fs.js'), ...args], {
      cwd: projectRoot(),
      env: { ...process.env, ...this.env, P8FS_STACK_DIR: this.dir },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** Starts a product process (the built CLI) and waits until its health or metrics URL answers. */
  async startProcess(name: ProcessName, timeoutMs = 90_000): Promise<void> {
    const spec = PROCESSES[name];
    await this.killProcess(name); // never two of one process
    const log = openSync(this.logFile(name), 'a');
    const child = spawn(process.execPath, [join(this.appDir, 'bin', 'p8fs.js'), ...spec.args], {
      cwd: projectRoot(),
      // The copy's project root is the app folder: the stack folder is given absolute.
      env: { ...process.env, ...this.env, P8FS_STACK_DIR: this.dir, ...spec.env },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.children.set(name, child);
    this.starts.set(name, (this.starts.get(name) ?? 0) + 1);
    const ready = await waitFor(
      async () => {
        try {
          const r = await fetch(spec.readyUrl, { signal: AbortSignal.timeout(2000) });
          return { ok: r.status < 500 || name === 'api', detail: `HTTP ${r.status}` };
        } catch (error) {
          return { ok: false, detail: String(error) };
        }
      },
      timeoutMs,
      () => child.exitCode === null && child.signalCode === null,
    );
    if (!ready.ok)
      throw new Error(`${name} did not become ready: ${ready.detail} (log ${this.logFile(name)})`);
  }

  /** SIGKILL, and wait for the exit (a worker's extraction children die with it: pdeathsig). */
  async killProcess(name: ProcessName): Promise<void> {
    const child = this.children.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Processes that exited without being killed by the soak (a crash is a finding). */
  unexpectedExits(): string[] {
    return [...this.children.entries()]
      .filter(([, c]) => c.exitCode !== null && c.signalCode !== 'SIGKILL')
      .map(([n, c]) => `${n} exited with ${c.exitCode ?? c.signalCode}`);
  }

  isRunning(name: ProcessName): boolean {
    const child = this.children.get(name);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  async stopServer(name: ServerName): Promise<void> {
    await this.server(name).stop();
  }

  /** Starts a server again (the product's start) and waits until it answers its probe. */
  async startServer(name: ServerName, timeoutMs = 120_000): Promise<void> {
    const server = this.server(name);
    await server.start();
    const ready = await waitFor(() => server.probe(), timeoutMs);
    if (!ready.ok) throw new Error(`${name} did not come back: ${ready.detail} (log ${server.logFile})`);
  }

  private server(name: ServerName): ServerSpec {
    const server = this.servers.get(name);
    if (!server) throw new Error(`no server ${name}`);
    return server;
  }

  /** SIGTERM to every product process (SIGKILL after 15 s), then the servers. */
  async shutdown(keepServers: boolean): Promise<void> {
    await Promise.all(
      [...this.children.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    if (!keepServers && existsSync(this.dir)) await stackDown(this.cfg, () => undefined);
  }

  /** Last resort on an abrupt exit of the driver: no product process outlives it. */
  killAllNow(): void {
    for (const child of this.children.values())
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
