/**
 * A PostgreSQL cluster owned by one test file, for chaos tests that stop and restart the database without
 * touching the shared test server other files use. The cluster lives in a temp folder under /var/tmp
 * (as root the server runs as the `postgres` user, which cannot enter /tmp folders made by mkdtemp or a
 * clone under /root); trust authentication on 127.0.0.1 and a free port. stop()/start() keep the data.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { giveToPostgres, runPg } from '../../src/stack/postgres-binaries.js';
import { logFileTail } from './cli.js';
import { freePort } from './ports.js';

export interface PrivatePostgres {
  readonly host: string;
  /** Final once start() has resolved the first time. */
  readonly port: number;
  readonly user: string;
  readonly dir: string;
  readonly logFile: string;
  /** The P8FS_PG_* variables that point at this cluster (database `database`). */
  env(database: string): Record<string, string>;
  /** initdb on the first call, then pg_ctl start; waits until the server accepts connections. */
  start(): Promise<void>;
  /** pg_ctl stop -m fast: open connections are terminated (as in a restart or failover); waits for the exit. */
  stop(): Promise<void>;
  /** postmaster's pid while it runs. */
  pid(): number | undefined;
  /** Stops the server and removes its folder. Safe to call more than once. */
  dispose(): Promise<void>;
  logTail(lines?: number): string;
}

const liveDataDirs = new Set<string>();
let exitHookInstalled = false;

/** Last resort if a test process ends without afterAll: no cluster outlives the test process. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const dataDir of liveDataDirs) {
      if (!existsSync(join(dataDir, 'postmaster.pid'))) continue;
      try {
        runPg('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // Nothing more to do while exiting.
      }
    }
  });
}

export function privatePostgres(options: { user?: string } = {}): PrivatePostgres {
  installExitHook();
  const user = options.user ?? 'postgres';
  const dir = mkdtempSync(join('/var/tmp', 'p8fs-private-postgres-'));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'run');
  const logFile = join(dir, 'postgres.log');
  let port = 0;
  giveToPostgres(dir);
  giveToPostgres(socketDir);
  liveDataDirs.add(dataDir);

  const server: PrivatePostgres = {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    user,
    dir,
    logFile,
    env(database) {
      return {
        P8FS_PG_HOST: '127.0.0.1',
        P8FS_PG_PORT: String(port),
        P8FS_PG_USER: user,
        P8FS_PG_PASSWORD: '',
        P8FS_PG_DATABASE: database,
      };
    },
    async start() {
      if (port === 0) port = await freePort();
      if (!existsSync(join(dataDir, 'PG_VERSION'))) {
        runPg('initdb', ['-D', dataDir, '-U', user, '--auth=trust', '-E', 'UTF8', '--no-sync']);
      }
      runPg('pg_ctl', [
        '-D',
        dataDir,
        '-l',
        logFile,
        '-o',
        `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        '-w',
        '-t',
        '60',
        'start',
      ]);
    },
    async stop() {
      if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
      runPg('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    },
    pid() {
      try {
        const first = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
        return first ? Number(first) : undefined;
      } catch {
        return undefined;
      }
    },
    async dispose() {
      if (!existsSync(dir)) return;
      await server.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      liveDataDirs.delete(dataDir);
    },
    logTail(lines = 30) {
      return logFileTail(logFile, lines);
    },
  };
  return server;
}
