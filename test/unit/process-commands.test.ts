/**
 * One name per process (src/cli/process-commands.ts): each primary command name and each alias kept
 * for the seeds and older scripts reaches the same command of the real command tree.
 */
import { type Command, CommanderError } from 'commander';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { PROCESS_COMMANDS } from '../../src/cli/process-commands.js';
import { buildProgram } from '../../src/cli/program.js';
import { runSelfTestCommand } from '../../src/cli/self-test/run.js';
import { runWorkerProcess } from '../../src/cli/worker-process.js';

// What each command runs, without servers: the worker process and the self-test are stand-ins.
vi.mock('../../src/cli/worker-process.js', async (original) => ({
  ...(await original<typeof import('../../src/cli/worker-process.js')>()),
  runWorkerProcess: vi.fn(async () => undefined),
}));
vi.mock('../../src/cli/self-test/run.js', () => ({ runSelfTestCommand: vi.fn(async () => undefined) }));

/** `p8fs …args` through the real tree, with commander's exits and output captured. */
async function parse(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const program = buildProgram();
  const captured = { out: '', err: '' };
  const quiet = (command: Command) => {
    command.exitOverride().configureOutput({
      writeOut: (text) => {
        captured.out += text;
      },
      writeErr: (text) => {
        captured.err += text;
      },
    });
    for (const sub of command.commands) quiet(sub);
  };
  quiet(program);
  try {
    await program.parseAsync(['node', 'p8fs', ...args]);
    return { code: 0, ...captured };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { code: error.exitCode, ...captured };
  }
}

const program = buildProgram();
const find = (name: string) => program.commands.find((c) => c.name() === name || c.aliases().includes(name));

describe('process command names', () => {
  it.each(
    Object.values(PROCESS_COMMANDS).flatMap(({ name, aliases }) =>
      [name, ...aliases].map((spelling) => [spelling, name] as const),
    ),
  )('`p8fs %s` is the command %s', async (spelling, primary) => {
    expect(find(spelling)?.name()).toBe(primary);
    const help = await parse([spelling, '--help']);
    expect(help.code, help.err).toBe(0);
    // Commander prints the first alias beside the name: `Usage: p8fs bridge|router [options]`.
    expect(help.out).toMatch(new RegExp(`Usage: p8fs ${primary}[ |]`));
  });

  it('keeps the seeds and the older spellings as aliases', () => {
    expect(find('router')).toBe(find('bridge'));
    expect(find('tiered-storage-router')).toBe(find('bridge'));
    expect(find('seaweed-events')).toBe(find('subscriber'));
    expect(find('seaweedfs-grpc-subscriber')).toBe(find('subscriber'));
  });

  it("accepts the seeds' `router --worker-id=local-router`", async () => {
    const result = await parse(['router', '--worker-id=local-router', '--help']);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toContain('Usage: p8fs bridge');
    expect(result.out).toContain('--worker-id <id>');
  });

  it('storage workers serve storage tiers; llm is not advertised, and the dreaming worker has its own command', async () => {
    for (const name of ['storage-worker', 'worker']) {
      const help = await parse([name, '--help']);
      expect(help.out).toMatch(/--tier <tier\.\.\.>/);
      expect(help.out, name).not.toMatch(/--tier <tier\.\.\.>[^\n]*llm/);
    }
    const badTier = await parse(['storage-worker', '--tier', 'llm']);
    expect(badTier.code).toBe(1);
    expect(badTier.err).toContain('Allowed choices are small, medium, large');
    const worker = await parse(['worker', '--tier', 'gpu']);
    expect(worker.code).toBe(1);
    expect(worker.err).toContain('Allowed choices are small, medium, large');
    expect((await parse(['worker', '--help'])).out).toContain('`--tier llm` still runs the dreaming worker');
    expect((await parse(['dreaming-worker', '--help'])).out).toContain('p8fs-llm');
  });

  it('the self-test has its own command, with the options of `storage-worker --send-sample`', async () => {
    const options = (name: string) =>
      find(name)
        ?.options.map((o) => o.long)
        .sort();
    expect(options('self-test')).toEqual(options('storage-worker'));
    expect(options('self-test')).toEqual(
      ['--keep-workflow', '--send-sample', '--tenant', '--tier', '--timeout'].sort(),
    );
    const missing = await parse(['self-test', '--tier', 'small']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("required option '--send-sample <file>' not specified");
  });

  describe('what each spelling runs', () => {
    beforeEach(() => {
      vi.mocked(runWorkerProcess).mockClear();
      vi.mocked(runSelfTestCommand).mockClear();
    });

    it('storage-worker --tier T runs the storage worker; with --send-sample, the self-test', async () => {
      expect((await parse(['storage-worker', '--tier', 'small'])).code).toBe(0);
      expect(runWorkerProcess).toHaveBeenLastCalledWith(['small']);
      expect((await parse(['worker', '--tier', 'medium', 'large'])).code).toBe(0);
      expect(runWorkerProcess).toHaveBeenLastCalledWith(['medium', 'large']);
      expect(runSelfTestCommand).not.toHaveBeenCalled();
      for (const name of ['storage-worker', 'self-test']) {
        expect((await parse([name, '--tier', 'small', '--send-sample', 'Sample.pdf'])).code).toBe(0);
        expect(runSelfTestCommand).toHaveBeenLastCalledWith(
          expect.objectContaining({ tier: ['small'], sendSample: 'Sample.pdf', tenant: 'tenant-test' }),
        );
      }
      expect(runWorkerProcess).toHaveBeenCalledTimes(2);
    });

    it('dreaming-worker and the deprecated worker --tier llm run the dreaming worker; the alias says so', async () => {
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      try {
        expect((await parse(['dreaming-worker'])).code).toBe(0);
        expect(runWorkerProcess).toHaveBeenLastCalledWith(['llm']);
        expect(stderr).not.toHaveBeenCalled();
        expect((await parse(['worker', '--tier', 'llm'])).code).toBe(0);
        expect(runWorkerProcess).toHaveBeenLastCalledWith(['llm']);
        expect(stderr).toHaveBeenCalledTimes(1);
        expect(String(stderr.mock.calls[0]?.[0])).toMatch(
          /^p8fs: `worker --tier llm` is deprecated: run `p8fs dreaming-worker`/,
        );
      } finally {
        stderr.mockRestore();
      }
    });

    it('user-insight-worker runs the user insight worker on p8fs-user-insight', async () => {
      expect((await parse(['user-insight-worker'])).code).toBe(0);
      expect(runWorkerProcess).toHaveBeenLastCalledWith(['user-insight']);
      const help = (await parse(['user-insight-worker', '--help'])).out;
      expect(help).toContain('p8fs-user-insight');
      expect(help).toContain('tenantMoments');
    });
  });
});
