/**
 * `p8fs stack up|down|status`: brings the local servers up (reusing any that already answer, unless
 * outdated: see ServerSpec.outdated), stops the ones this stack folder started, and reports health with
 * the addresses people need.
 */
import { existsSync } from 'node:fs';
import { startHint } from '../clients/unreachable.js';
import type { Config } from '../config/config.js';
import { redactSecrets } from '../config/redact.js';
import { errorText } from '../domain/errors.js';
import { resolveStackDir, serverBinDir } from './paths.js';
import type { PostgresServerOptions } from './postgres-server.js';
import { waitFor } from './processes.js';
import { type Probe, type ServerName, type ServerSpec, stackServers } from './servers.js';

export type Say = (line: string) => void;

export interface ServerState {
  name: ServerName;
  state: 'reused' | 'started' | 'failed' | 'up' | 'down';
  detail: string;
  endpoints: Record<string, string>;
  logFile: string;
}

export class StackError extends Error {
  constructor(readonly states: ServerState[]) {
    super(
      `stack is not healthy:\n${states
        .filter((s) => s.state === 'failed' || s.state === 'down')
        .map((s) => `  - ${s.name}: ${s.detail} (log: ${s.logFile})`)
        .join('\n')}`,
    );
    this.name = 'StackError';
  }
}

const START_TIMEOUT_MS: Record<ServerName, number> = {
  postgres: 60_000,
  nats: 30_000,
  seaweedfs: 90_000,
  temporal: 120_000,
};

/** One server: reused when it answers (and is not outdated), else started and waited for. */
export async function bringUp(server: ServerSpec, say: Say): Promise<ServerState> {
  const base = { name: server.name, endpoints: server.endpoints, logFile: server.logFile };
  const first = await server.probe();
  const outdated = first.ok ? server.outdated?.() : undefined;
  if (first.ok && outdated === undefined) {
    say(`${server.name}: already running, reused (${first.detail})`);
    return { ...base, state: 'reused', detail: first.detail };
  }
  if (outdated !== undefined) {
    // Only ever a server of this stack folder (its pid file): its data is kept across the restart.
    say(`${server.name}: restarting to take up its current arguments (${outdated})`);
    await server.stop();
  }
  if (!server.local) {
    return {
      ...base,
      state: 'failed',
      detail: `${first.detail}; not on loopback, so not started here: set ${server.variable} to a server that runs, or to a loopback address for \`p8fs stack up\` to start one`,
    };
  }
  if (server.name !== 'postgres' && !existsSync(serverBinDir())) {
    return { ...base, state: 'failed', detail: `binaries missing in ${serverBinDir()}: run make setup` };
  }
  say(`${server.name}: starting (log ${server.logFile})`);
  try {
    await server.start();
  } catch (error) {
    const message = errorText(error);
    return { ...base, state: 'failed', detail: `could not start: ${message}` };
  }
  const ready: Probe = await waitFor(() => server.probe(), START_TIMEOUT_MS[server.name]);
  if (!ready.ok) return { ...base, state: 'failed', detail: `did not become healthy: ${ready.detail}` };
  say(`${server.name}: healthy (${ready.detail})`);
  return { ...base, state: 'started', detail: ready.detail };
}

/** `options.disposableData`: the test stack, whose PostgreSQL data may be made anew (another major version). */
export async function stackUp(
  cfg: Config,
  say: Say = console.log,
  options: PostgresServerOptions = {},
): Promise<ServerState[]> {
  const servers = stackServers(cfg, resolveStackDir(cfg.stack.dir), options);
  const states = await Promise.all(servers.map((server) => bringUp(server, say)));
  if (states.some((s) => s.state === 'failed')) throw new StackError(states);
  return states;
}

/** Stops the servers this stack folder started (or only those named in `only`). */
export async function stackDown(
  cfg: Config,
  say: Say = console.log,
  only?: readonly ServerName[],
): Promise<void> {
  const servers = stackServers(cfg, resolveStackDir(cfg.stack.dir)).filter(
    (server) => !only || only.includes(server.name),
  );
  // Temporal first so it does not log a storm of errors while its neighbours go away.
  for (const server of [...servers].reverse()) {
    const stopped = await server.stop();
    say(`${server.name}: ${stopped ? 'stopped (data kept)' : 'not started by this stack; left alone'}`);
  }
}

export async function stackStatus(cfg: Config): Promise<ServerState[]> {
  const servers = stackServers(cfg, resolveStackDir(cfg.stack.dir));
  return Promise.all(
    servers.map(async (server) => {
      const probe = await server.probe();
      return {
        name: server.name,
        state: probe.ok ? 'up' : 'down',
        detail: probe.ok ? probe.detail : `${probe.detail}; ${startHint(server.variable)}`,
        endpoints: server.endpoints,
        logFile: server.logFile,
      } satisfies ServerState;
    }),
  );
}

export function formatStatus(states: ServerState[]): string {
  const lines = states.map((s) => {
    const endpoints = Object.entries(s.endpoints)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    return redactSecrets(`  ${s.name.padEnd(10)} ${s.state.padEnd(8)} ${endpoints}`);
  });
  return lines.join('\n');
}
