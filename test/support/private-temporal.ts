/**
 * A Temporal dev server owned by one test file, for chaos tests that stop and restart Temporal without
 * touching the shared test server other files use. State lives in a SQLite file in a temp folder, so a
 * restart on the same file keeps namespaces, search attributes, task queues and running workflows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { serverBinDir } from '../../src/stack/paths.js';
import { temporalDevServerArgs } from '../../src/stack/servers.js';
import { logFileTail } from './cli.js';

export interface PrivateTemporalOptions {
  /**
   * Preferred gRPC port (default 27333); the UI, HTTP and metrics ports are the next three. When one of
   * the four is taken at the first start (the same test running in another checkout or session), the next
   * free block of four, 10 ports higher, is used; restarts always reuse the ports of the first start.
   */
  port?: number;
  namespace?: string;
  /** How long start() waits for the server to answer. */
  startTimeoutMs?: number;
}

export interface PrivateTemporal {
  /** host:port of the gRPC frontend; final once start() has resolved the first time. */
  readonly address: string;
  readonly dbFile: string;
  readonly logFile: string;
  /** pid of the running server process, if any. */
  readonly pid: number | undefined;
  /** Starts the server (on the same db file as before) and waits until it answers for the namespace. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL right away. */
  kill(): Promise<void>;
  /** Stops the server and removes its temp folder (db and log). Safe to call more than once. */
  dispose(): Promise<void>;
  /** The last lines of the server's log, for failure messages. */
  logTail(lines?: number): string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort if a test process ends without afterAll: no server outlives the test process. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function blockFree(port: number): Promise<boolean> {
  const taken = await Promise.all([port, port + 1, port + 2, port + 3].map(portInUse));
  return !taken.some(Boolean);
}

export function privateTemporal(options: PrivateTemporalOptions = {}): PrivateTemporal {
  let port = options.port ?? 27333;
  let portsChosen = false;
  const namespace = options.namespace ?? 'default';
  let address = `127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'p8fs-private-temporal-'));
  const dbFile = join(dir, 'temporal.db');
  const logFile = join(dir, 'temporal.log');
  let child: ChildProcess | undefined;
  installExitHook();

  const args = () =>
    temporalDevServerArgs({
      port,
      uiPort: port + 1,
      httpPort: port + 2,
      metricsPort: port + 3,
      dbFile,
      namespace,
      headless: true,
      logLevel: 'error',
    });

  async function answers(): Promise<boolean> {
    let connection: Connection | undefined;
    try {
      const connected = await Connection.connect({ address, connectTimeout: 1000 });
      connection = connected;
      await connected.withDeadline(Date.now() + 2000, () =>
        connected.workflowService.describeNamespace({ namespace }),
      );
      return true;
    } catch {
      return false;
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }

  const server: PrivateTemporal = {
    get address() {
      return address;
    },
    dbFile,
    logFile,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async start() {
      if (server.pid !== undefined) throw new Error(`private Temporal at ${address} is already running`);
      if (!portsChosen) {
        const preferred = port;
        while (!(await blockFree(port))) {
          port += 10;
          if (port > preferred + 500) {
            throw new Error(
              `no four free ports from ${preferred} to ${port} for the private Temporal server`,
            );
          }
        }
        portsChosen = true;
        address = `127.0.0.1:${port}`;
      } else if (!(await blockFree(port))) {
        throw new Error(
          `ports ${port}-${port + 3} of the private Temporal server were taken while it was down`,
        );
      }
      const log = openSync(logFile, 'a');
      const started = spawn(join(serverBinDir(), 'temporal'), args(), { stdio: ['ignore', log, log] });
      closeSync(log);
      child = started;
      live.add(started);
      started.once('exit', () => live.delete(started));
      const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
      while (Date.now() < deadline) {
        if (started.exitCode !== null || started.signalCode !== null) {
          throw new Error(
            `private Temporal at ${address} exited (${started.exitCode ?? started.signalCode}) while starting:\n${server.logTail()}`,
          );
        }
        if (await answers()) return;
        await sleep(250);
      }
      throw new Error(
        `private Temporal at ${address} did not answer within the start timeout:\n${server.logTail()}`,
      );
    },
    async stop(graceMs = 10_000) {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), graceMs);
      await exited(running);
      clearTimeout(timer);
    },
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      running.kill('SIGKILL');
      await exited(running);
    },
    async dispose() {
      await server.stop(5000);
      rmSync(dir, { recursive: true, force: true });
    },
    logTail(lines = 30) {
      return logFileTail(logFile, lines);
    },
  };
  return server;
}
