/**
 * The seeds' command lines and settings work here as written (../shared/seeds/README.md): every command
 * line and environment variable of the two P8FS seeds (000, 001) is extracted from the text, not listed
 * by hand, then each command, its Python entry point mapped to `p8fs`, must parse in our command tree and
 * land on the command that does that job, and each variable must be read by src/config (under its name or
 * as an alias) or be refused at start-up, or be explained in docs/MIGRATING.md as configuring something
 * that is not built here. Seeds 002–004 describe other systems (Kafka, OmniQ, BullMQ).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { agentModelName, providerOfModel } from '../../src/cli/commands/eval.js';
import { buildProgram } from '../../src/cli/program.js';
import { loadConfig, SECTIONS } from '../../src/config/config.js';
import { configProblems as problemsOf } from '../support/config-problems.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const seedsDir = resolve(root, '../shared/seeds');
const migrating = readFileSync(join(root, 'docs/MIGRATING.md'), 'utf8');

function seed(prefix: string): string {
  const file = readdirSync(seedsDir).find((f) => f.startsWith(prefix) && f.endsWith('.txt'));
  if (!file) throw new Error(`no seed ${prefix}_*.txt in ${seedsDir}: the seeds belong beside the project`);
  return readFileSync(join(seedsDir, file), 'utf8');
}
const SEEDS = { '000': seed('000'), '001': seed('001') };

/** The fenced blocks of a seed: language and lines, with `\`-continued lines joined. */
function blocks(text: string): { lang: string; lines: string[] }[] {
  return [...text.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({
    lang: m[1] ?? '',
    lines: (m[2] ?? '')
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((l) => l.trim()),
  }));
}

/** Python module → the `p8fs` words that take its place. */
const ENTRY_POINTS: Record<string, string[]> = {
  'p8fs.cli': [],
  'p8fs.workers.dreaming': ['dreaming'],
  // Started by the seeds' storage-worker Deployment, its tier in WORKER_TIER.
  'p8fs.workers.queues.storage_worker': ['storage-worker'],
};

/** Entry points of the original that do something not built here; docs/MIGRATING.md says what to use. */
const NOT_OURS: Record<string, string> = {
  'p8fs.models.p8': 'its schema plan for TiDB; here `p8fs migrate` creates or adopts the PostgreSQL tables',
};

interface SeedCommand {
  line: string;
  module: string;
  args: string[];
  env: Record<string, string>;
}

/** Shell words, for the simple quoting the seeds use. */
const words = (line: string) =>
  [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');

function commandsOf(text: string): SeedCommand[] {
  const found: SeedCommand[] = [];
  for (const block of blocks(text)) {
    for (const line of block.lines) {
      // bash: `[VAR=value …] [uv run] python -m module args… [> file]`
      const shell = /^((?:[A-Z][A-Z0-9_]*=\S*\s+)*)(?:uv run )?python -m ([\w.]+)(.*)$/.exec(line);
      if (shell) {
        const env = Object.fromEntries(
          words(shell[1] ?? '').map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
        );
        const args = words((shell[3] ?? '').replace(/\s[12]?>.*$/, ''));
        found.push({ line, module: shell[2] ?? '', args, env });
      }
      // YAML: command: ["python", "-m", "module", args…] (env: the container's, read below)
      const yaml = /^command: \[(.*)\]$/.exec(line);
      if (yaml) {
        const [python, dashM, module, ...args] = JSON.parse(`[${yaml[1]}]`) as string[];
        if (python === 'python' && dashM === '-m' && module) {
          const env = manifestEnv(block.lines.slice(block.lines.indexOf(line)));
          found.push({ line, module, args, env });
        }
      }
    }
  }
  return found;
}

/** `- name: X` / `value: "v"` pairs of a container's env, from the lines after its command. */
function manifestEnv(lines: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (let i = 0; i < lines.length; i += 1) {
    const name = /^- name: ([A-Z][A-Z0-9_]*)$/.exec(lines[i] ?? '');
    const value = /^value: "?([^"#]*?)"?(\s+#.*)?$/.exec(lines[i + 1] ?? '');
    if (name?.[1] && value) env[name[1]] = value[1] ?? '';
  }
  return env;
}

/** Every variable a seed sets, with each value it gives: `export X=v`, `X=v command`, a manifest's env, "configurable via `X`". */
function variablesOf(text: string): [string, string][] {
  const vars: [string, string][] = [];
  for (const block of blocks(text)) {
    for (const line of block.lines) {
      const exported = /^export ([A-Z][A-Z0-9_]*)=(\S*)/.exec(line);
      if (exported?.[1]) vars.push([exported[1], exported[2] ?? '']);
    }
    for (const command of commandsOf(`\`\`\`\n${block.lines.join('\n')}\n\`\`\``))
      vars.push(...Object.entries(command.env));
    if (block.lang === 'yaml') vars.push(...Object.entries(manifestEnv(block.lines)));
  }
  for (const m of text.matchAll(/configurable via `([A-Z][A-Z0-9_]*)`/g)) if (m[1]) vars.push([m[1], '']);
  const unique = new Map(
    vars.map(([name, value]) => [`${name}=${value}`, [name, value] as [string, string]]),
  );
  return [...unique.values()];
}

/** The env blocks the seeds export together, each a set of variables a user sets at once. */
function exportBlocks(text: string): Record<string, string>[] {
  return blocks(text)
    .map((block) =>
      Object.fromEntries(
        block.lines
          .map((l) => /^export ([A-Z][A-Z0-9_]*)=(\S*)/.exec(l))
          .filter((m) => m !== null)
          .map((m) => [m[1], m[2]]),
      ),
    )
    .filter((env) => Object.keys(env).length > 1);
}

/** The container env of the seeds' Python storage worker: its own queue settings, not P8FS_ ones. */
const NOT_OUR_VARIABLES: Record<string, string> = {
  NATS_SUBJECT: 'storage workers poll Temporal task queues, not NATS subjects',
  NATS_DURABLE_NAME: 'no worker consumes a NATS consumer; only the bridge does',
  WORKER_TIER: 'the tier is `p8fs storage-worker --tier T` (the Deployments pass it)',
};

/** Refused at start-up with a message naming what to use instead: a store that is not built. */
const refused = (name: string, value: string) =>
  (name.startsWith('P8FS_TIDB_') && value !== '') ||
  (name === 'P8FS_STORAGE_PROVIDER' && value !== 'postgresql');

/** The command tree with a recorder in place of each action but `dreaming process`, which dispatches. */
function recordingProgram(): {
  program: Command;
  runs: { path: string; options: Record<string, unknown> }[];
} {
  const runs: { path: string; options: Record<string, unknown> }[] = [];
  const program = buildProgram();
  const visit = (command: Command, path: string[]) => {
    command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
    for (const sub of command.commands) {
      const here = [...path, sub.name()];
      if (here.join(' ') !== 'dreaming process')
        sub.action((...args: unknown[]) => {
          const own = args.at(-1) as Command;
          runs.push({ path: here.join(' '), options: own.opts() });
        });
      visit(sub, here);
    }
  };
  visit(program, []);
  return { program, runs };
}

/** Our command line for a seed's: the entry point mapped, a Deployment's WORKER_TIER as --tier. */
function mapped(command: SeedCommand): string[] {
  const words = [...(ENTRY_POINTS[command.module] ?? []), ...command.args];
  if (command.module === 'p8fs.workers.queues.storage_worker' && command.env.WORKER_TIER)
    words.push('--tier', command.env.WORKER_TIER);
  return words;
}

const commands = [...commandsOf(SEEDS['000']), ...commandsOf(SEEDS['001'])];
const variables = [...variablesOf(SEEDS['000']), ...variablesOf(SEEDS['001'])];
const seedValue = (name: string) => variables.find(([n]) => n === name)?.[1];

describe("the seeds' command lines", () => {
  it('are extracted from the seeds, not listed here', () => {
    expect(commands.length).toBeGreaterThanOrEqual(12);
    const modules = new Set(commands.map((c) => c.module));
    for (const module of modules)
      expect(
        Object.hasOwn(ENTRY_POINTS, module) || Object.hasOwn(NOT_OURS, module),
        `seed entry point ${module}: map it to p8fs in ENTRY_POINTS or explain it in NOT_OURS and docs/MIGRATING.md`,
      ).toBe(true);
    expect(modules).toContain('p8fs.workers.dreaming');
  });

  // The job each command of ours must land on, by the seed command's first words.
  const EXPECTED: [RegExp, string][] = [
    [/^storage-worker .*--send-sample/, 'storage-worker'],
    [/^storage-worker/, 'storage-worker'],
    [/^router/, 'bridge'],
    [/^dreaming process.*--completion/, 'dream complete'],
    [/^dreaming process --mode direct/, 'dream start'],
    [/^dreaming process --mode batch/, 'dream start'],
    [/^eval /, 'eval'],
  ];

  it.each(commands.filter((c) => !Object.hasOwn(NOT_OURS, c.module)).map((c) => [c.line, c] as const))(
    '%s',
    async (_line, command) => {
      const args = mapped(command);
      const expected = EXPECTED.find(([pattern]) => pattern.test(args.join(' ')))?.[1];
      expect(expected, `no expectation for p8fs ${args.join(' ')}`).toBeDefined();
      const { program, runs } = recordingProgram();
      try {
        await program.parseAsync(args, { from: 'user' });
      } catch (error) {
        const message = error instanceof CommanderError ? error.message : String(error);
        expect.fail(`p8fs ${args.join(' ')} is refused: ${message}`);
      }
      expect(runs.map((r) => r.path)).toEqual([expected]);
      const options = runs[0]?.options ?? {};
      if (expected === 'eval') {
        expect(agentModelName(String(options.agentModel))).toBe('MomentBuilder');
        expect(providerOfModel(String(options.model))).toBe('anthropic');
      }
      if (expected === 'dream start') {
        expect(options.tenant).toBe(args[args.indexOf('--tenant-id') + 1]);
        expect(options.mode).toBe(args[args.indexOf('--mode') + 1]);
        expect(options.wait).toBe(options.mode === 'direct' ? true : undefined);
      }
      if (args[0] === 'storage-worker') {
        expect(options.tier).toEqual([args[args.indexOf('--tier') + 1]]);
        expect(options.sendSample).toBe(
          args.includes('--send-sample') ? args[args.indexOf('--send-sample') + 1] : undefined,
        );
      }
      // The table in docs/MIGRATING.md says how each behaves now.
      expect(migrating).toContain(`p8fs ${args.slice(0, 2).join(' ')}`);
    },
  );

  it('explains the entry points that are not ours in docs/MIGRATING.md', () => {
    for (const module of Object.keys(NOT_OURS)) expect(migrating).toContain(module);
  });
});

describe("the seeds' settings", () => {
  const declared = new Set(
    SECTIONS.flatMap((s) => s.variables).flatMap((v) => [v.name, ...(v.aliases ?? [])]),
  );

  it('are extracted from the seeds, not listed here', () => {
    expect(new Set(variables.map(([name]) => name)).size).toBeGreaterThanOrEqual(15);
    expect(variables.map(([name]) => name)).toEqual(
      expect.arrayContaining(['P8FS_NATS_URL', 'P8FS_SEAWEEDFS_FILER', 'P8FS_STORAGE_PROVIDER']),
    );
  });

  it.each(variables)('%s=%s', (name, value) => {
    if (Object.hasOwn(NOT_OUR_VARIABLES, name)) {
      expect(declared.has(name)).toBe(false);
      expect(migrating, `docs/MIGRATING.md explains ${name}`).toContain(`\`${name}\``);
      return;
    }
    expect(declared.has(name), `${name} is declared in src/config/sections/ (as a name or an alias)`).toBe(
      true,
    );
    const problems = problemsOf({ [name]: value }).filter((p) => p.startsWith(name));
    if (refused(name, value)) {
      expect(problems.join('\n'), `${name} is refused at start-up`).toMatch(/PostgreSQL is the only store/);
      expect(migrating).toContain(name.startsWith('P8FS_TIDB_') ? 'P8FS_TIDB_' : name);
    } else expect(problems, `${name}=${value} as the seeds set it`).toEqual([]);
  });

  it('the PostgreSQL block loads as a whole, onto the database it names', () => {
    const pgBlock = exportBlocks(SEEDS['001']).find((env) => env.P8FS_STORAGE_PROVIDER === 'postgresql');
    expect(pgBlock).toBeDefined();
    const cfg = loadConfig(pgBlock);
    expect(cfg.pg).toMatchObject({ host: 'localhost', port: 5438, database: 'app', user: 'postgres' });
  });

  it("the seeds' filer host:port is the filer's URL, and its gRPC port follows", () => {
    const filer = seedValue('P8FS_SEAWEEDFS_FILER') ?? '';
    expect(filer).toMatch(/^[\w.-]+:\d+$/);
    const cfg = loadConfig({ P8FS_SEAWEEDFS_FILER: filer });
    expect(cfg.s3.filerUrl).toBe(`http://${filer}`);
    expect(cfg.subscriber.filerGrpc).toBe(filer.replace(/:8888$/, ':18888'));
  });

  it("the original's S3 key names are read, and count as keys for a remote endpoint", () => {
    const cfg = loadConfig({
      P8FS_SEAWEEDFS_ENDPOINT: 'http://seaweedfs-s3.p8fs.svc.cluster.local:8333',
      P8FS_SEAWEEDFS_ACCESS_KEY: 'p8fs-admin-access',
      P8FS_SEAWEEDFS_SECRET_KEY: 'r52x/o=',
    });
    expect(cfg.s3).toMatchObject({ accessKeyId: 'p8fs-admin-access', secretAccessKey: 'r52x/o=' });
  });
});
