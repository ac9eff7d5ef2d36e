import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';

function allCommands(command: Command, path: string[] = []): [string, Command][] {
  return command.commands.flatMap((sub) => {
    const here = [...path, sub.name()];
    return [[here.join(' '), sub] as [string, Command], ...allCommands(sub, here)];
  });
}

describe('p8fs --help', () => {
  const commands = allCommands(buildProgram());

  it('lists the names users type', () => {
    const names = commands.map(([name]) => name);
    for (const expected of [
      'stack up',
      'stack down',
      'stack status',
      'migrate',
      'bridge',
      'worker',
      'storage-worker',
      'event check',
      'ingest',
      'demo',
      'status',
      'dlq list',
      'dlq replay',
      'dream start',
      'dream complete',
      'eval',
      'api',
      'apikey create',
      'apikey list',
      'apikey revoke',
    ]) {
      expect(names).toContain(expected);
    }
    expect(commands.find(([name]) => name === 'bridge')?.[1].aliases()).toContain('router');
  });

  it.each(commands.map(([name, command]) => [name, command] as const))(
    '%s has a description and help',
    (name, command) => {
      expect(command.description().length, name).toBeGreaterThan(10);
      expect(command.helpInformation()).toContain(`Usage: p8fs ${name}`);
    },
  );
});

/**
 * Parses `args` with the real command tree, as `p8fs` would, but with commander's exits turned into
 * errors and its output captured: what it printed and the exit code it would have used.
 */
async function parse(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const program = buildProgram();
  let out = '';
  let err = '';
  const quiet = (command: Command) => {
    command.exitOverride().configureOutput({
      writeOut: (text) => {
        out += text;
      },
      writeErr: (text) => {
        err += text;
      },
    });
    for (const sub of command.commands) quiet(sub);
  };
  quiet(program);
  try {
    await program.parseAsync(['node', 'p8fs', ...args]);
    return { code: 0, out, err };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { code: error.exitCode, out, err };
  }
}

describe('p8fs --version and unknown commands', () => {
  it('--version names our version and the Temporal SDK it runs, from the installed packages', async () => {
    const ours = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
    const sdkPackage = createRequire(import.meta.url).resolve('@temporalio/client/package.json');
    const sdk = JSON.parse(readFileSync(sdkPackage, 'utf8')).version as string;
    for (const flag of ['--version', '-V']) {
      const result = await parse([flag]);
      expect(result.code).toBe(0);
      expect(result.out.trim()).toBe(
        `p8fs-flows ${ours} (Temporal TypeScript SDK ${sdk}, Node.js ${process.version})`,
      );
    }
  });

  it('an unknown command is an error (exit 1) with a suggestion and a one-line hint, not the whole help', async () => {
    const result = await parse(['stauts']);
    expect(result.code).toBe(1);
    expect(result.err).toContain("error: unknown command 'stauts'");
    expect(result.err).toContain('(Did you mean status?)');
    expect(result.err).toContain('(add --help for usage)');
    expect(result.err).not.toContain('Commands:');
    const sub = await parse(['dlq', 'lst']);
    expect(sub.code).toBe(1);
    expect(sub.err).toContain('(Did you mean list?)');
  });

  it('an unknown option of a command is an error with a suggestion', async () => {
    const result = await parse(['ingest', 'a.pdf', '--tenant', 't', '--wiat']);
    expect(result.code).toBe(1);
    expect(result.err).toContain("error: unknown option '--wiat'");
    expect(result.err).toContain('(Did you mean --wait?)');
  });

  const built = allCommands(buildProgram());
  it.each(built.map(([name]) => [name] as const))(
    'p8fs %s --help prints its usage and exits 0',
    async (name) => {
      const result = await parse([...name.split(' '), '--help']);
      expect(result.code, result.err).toBe(0);
      expect(result.out).toContain(`Usage: p8fs ${name}`);
    },
  );

  it('the root help lists ingest and the HTTP API (built: no longer marked not built)', async () => {
    const result = await parse(['--help']);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/ingest \[options\] <files\.\.\.>/);
    expect(result.out).toMatch(/api\s+HTTP API \(Fastify, OpenAPI at \/docs\)/);
    expect(result.out).not.toMatch(/api\s+HTTP API .*not built yet/s);
    const api = await parse(['api', '--help']);
    expect(api.code).toBe(0);
    expect(api.out).toContain('P8FS_API_PORT');
  });
});
