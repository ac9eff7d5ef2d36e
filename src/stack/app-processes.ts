/**
 * The application's own long-running processes on the local stack: the filer subscriber, the bridge, the
 * storage workers, the dreaming (LLM) worker and the user insight worker, each a detached `p8fs` process with a pid file and a
 * log, like the servers. With them running, an S3 upload alone becomes searchable rows and `p8fs dream
 * start` a dream, which is what `p8fs stack up` promises.
 * They run the same `p8fs` that started them (the compiled bin/p8fs.js, or the source through tsx in
 * tests): the caller passes that entry.
 */
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { projectRoot } from '../config/project-root.js';
import { errorText } from '../domain/errors.js';
import { resolveStackDir } from './paths.js';
import { isAlive, readPid, removeFile, startDetached, stopPid, waitFor } from './processes.js';
import type { Say } from './stack.js';

export type AppProcessName =
  | 'subscriber'
  | 'bridge'
  | 'storage-worker'
  | 'dreaming-worker'
  | 'user-insight-worker';

export interface AppProcessState {
  name: AppProcessName;
  state: 'started' | 'reused' | 'failed' | 'up' | 'down' | 'stopped' | 'not running';
  detail: string;
  logFile: string;
}

interface AppProcessSpec {
  name: AppProcessName;
  args: string[];
  /** The URL that answers 200 once the process is ready, or undefined when its port is switched off. */
  readyUrl?: string;
  /** Variables set for this process only, over the environment of `stack up`. */
  env?: Record<string, string>;
  /** Said beside the command when it starts. */
  note?: string;
}

const READY_TIMEOUT_MS = 60_000;

/**
 * The dreaming worker: offline (the heuristic provider) unless P8FS_LLM_PROVIDER asks for another, so a
 * stack brought up with an API key in the environment spends nothing by surprise; its metrics on the
 * port after the storage workers' (both are `P8FS_WORKER_METRICS_PORT` to their process).
 */
function dreamingWorkerSpec(cfg: Config, local: (port: number, path: string) => string | undefined) {
  const provider = process.env.P8FS_LLM_PROVIDER || 'heuristic';
  const port = cfg.worker.metricsPort > 0 ? cfg.worker.metricsPort + 1 : 0;
  return {
    name: 'dreaming-worker',
    args: ['dreaming-worker'],
    readyUrl: local(port, '/metrics'),
    env: { P8FS_LLM_PROVIDER: provider, P8FS_WORKER_METRICS_PORT: String(port) },
    note: `LLM provider ${provider}${process.env.P8FS_LLM_PROVIDER ? '' : ' (offline; set P8FS_LLM_PROVIDER for another)'}`,
  } satisfies AppProcessSpec;
}

/**
 * The user insight worker (moments and the user summary on p8fs-user-insight): the same offline default
 * as the dreaming worker, its metrics on the port after the dreaming worker's.
 */
function userInsightWorkerSpec(cfg: Config, local: (port: number, path: string) => string | undefined) {
  const dreaming = dreamingWorkerSpec(cfg, local);
  const port = cfg.worker.metricsPort > 0 ? cfg.worker.metricsPort + 2 : 0;
  return {
    name: 'user-insight-worker',
    args: ['user-insight-worker'],
    readyUrl: local(port, '/metrics'),
    env: { ...dreaming.env, P8FS_WORKER_METRICS_PORT: String(port) },
    note: dreaming.note,
  } satisfies AppProcessSpec;
}

function appProcessSpecs(cfg: Config): AppProcessSpec[] {
  const local = (port: number, path: string) => (port > 0 ? `http://127.0.0.1:${port}${path}` : undefined);
  return [
    // Workers first: the bridge's starts find pollers waiting, and the subscriber's events a bridge.
    {
      name: 'storage-worker',
      args: ['storage-worker', '--tier', 'small', 'medium', 'large'],
      readyUrl: local(cfg.worker.metricsPort, '/metrics'),
    },
    dreamingWorkerSpec(cfg, local),
    userInsightWorkerSpec(cfg, local),
    { name: 'bridge', args: ['bridge'], readyUrl: local(cfg.bridge.healthPort, '/health') },
    {
      name: 'subscriber',
      args: ['subscriber'],
      readyUrl: local(cfg.subscriber.healthPort, '/health'),
    },
  ];
}

function filesOf(cfg: Config, name: AppProcessName) {
  const dir = resolveStackDir(cfg.stack.dir);
  return { logFile: join(dir, 'logs', `${name}.log`), pidFile: join(dir, 'run', `${name}.pid`) };
}

async function answers(url: string | undefined): Promise<{ ok: boolean; detail: string }> {
  if (!url) return { ok: true, detail: 'no health port configured; process alive' };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { ok: response.ok, detail: `${url} → HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, detail: `${url}: ${errorText(error)}` };
  }
}

/** How this process was started (`node bin/p8fs.js`, or `node --import tsx src/cli/run.ts`): children run the same. */
export function currentCliEntry(): string[] {
  const script = process.argv[1];
  if (!script) throw new Error('cannot tell how p8fs was started (no script in process.argv)');
  return [...process.execArgv, script];
}

/** Starts each app process that is not already running from this stack folder; waits until each answers. */
export async function startAppProcesses(
  cfg: Config,
  entry: string[] = currentCliEntry(),
  say: Say = console.log,
): Promise<AppProcessState[]> {
  const states: AppProcessState[] = [];
  for (const spec of appProcessSpecs(cfg)) {
    const { logFile, pidFile } = filesOf(cfg, spec.name);
    const running = readPid(pidFile);
    if (running !== undefined) {
      say(`${spec.name}: already running (pid ${running}), reused`);
      states.push({ name: spec.name, state: 'reused', detail: `pid ${running}`, logFile });
      continue;
    }
    const note = spec.note ? `, ${spec.note}` : '';
    say(`${spec.name}: starting \`p8fs ${spec.args.join(' ')}\` (log ${logFile}${note})`);
    const pid = startDetached({
      command: process.execPath,
      args: [...entry, ...spec.args],
      logFile,
      pidFile,
      cwd: projectRoot(),
      env: { ...process.env, ...spec.env },
    });
    const ready = await waitFor(
      () => answers(spec.readyUrl),
      READY_TIMEOUT_MS,
      () => isAlive(pid),
    );
    if (!ready.ok || !isAlive(pid)) {
      const detail = isAlive(pid)
        ? `did not become ready: ${ready.detail}`
        : `exited at start (see ${logFile})`;
      say(`${spec.name}: ${detail}`);
      states.push({ name: spec.name, state: 'failed', detail, logFile });
      continue;
    }
    say(`${spec.name}: ready (pid ${pid}; ${ready.detail})`);
    states.push({ name: spec.name, state: 'started', detail: `pid ${pid}; ${ready.detail}`, logFile });
  }
  return states;
}

/** Stops the app processes this stack folder started (subscriber first, so nothing new arrives). */
export async function stopAppProcesses(cfg: Config, say: Say = console.log): Promise<void> {
  for (const spec of [...appProcessSpecs(cfg)].reverse()) {
    const { pidFile } = filesOf(cfg, spec.name);
    const pid = readPid(pidFile);
    if (pid === undefined) continue;
    // Workers get their shutdown grace to finish in-flight activities before the SIGKILL.
    await stopPid(pid, (cfg.worker.shutdownGraceSeconds + 10) * 1000);
    removeFile(pidFile);
    say(`${spec.name}: stopped (pid ${pid})`);
  }
}

export async function appProcessStatus(cfg: Config): Promise<AppProcessState[]> {
  return Promise.all(
    appProcessSpecs(cfg).map(async (spec) => {
      const { logFile, pidFile } = filesOf(cfg, spec.name);
      const pid = readPid(pidFile);
      if (pid === undefined)
        return { name: spec.name, state: 'not running', detail: 'not started by this stack', logFile };
      const probe = await answers(spec.readyUrl);
      return {
        name: spec.name,
        state: probe.ok ? 'up' : 'down',
        detail: `pid ${pid}; ${probe.detail}`,
        logFile,
      } satisfies AppProcessState;
    }),
  );
}

export function formatAppStatus(states: AppProcessState[]): string {
  return states.map((s) => `  ${s.name.padEnd(16)} ${s.state.padEnd(11)} ${s.detail}`).join('\n');
}
