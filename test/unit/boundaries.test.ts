/**
 * The import rules of `make lint` (.dependency-cruiser.cjs) on the real tree, and on a small fixture tree
 * that breaks each rule once, to show the lint really fails on a forbidden import.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/project-root.js';

const run = promisify(execFile);
const root = projectRoot();
const depcruise = join(root, 'node_modules', '.bin', 'depcruise');
const config = join(root, '.dependency-cruiser.cjs');

async function cruise(cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(depcruise, ['--config', config, '--output-type', 'err', 'src'], { cwd });
    return { code: 0, output: stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

// One forbidden import per rule, plus imports that are allowed, in a tree shaped like src/.
const FIXTURE: Record<string, string> = {
  'tsconfig.json': '{"compilerOptions":{"module":"NodeNext","moduleResolution":"NodeNext","strict":true}}',
  'src/activities/step.ts': 'export const step = 1;',
  'src/workers/worker.ts': "import { step } from '../activities/step.js';\nexport const worker = step;",
  'src/stack/server.ts': 'export const server = 1;',
  'src/cli/main.ts': "import { server } from '../stack/server.js';\nexport const main = server;",
  'src/domain/ok.ts': "import { createHash } from 'node:crypto';\nexport const ok = createHash;",
  'src/domain/impure.ts': "import { step } from '../activities/step.js';\nexport const impure = step;",
  'src/domain/io.ts': "import { readFileSync } from 'node:fs';\nexport const io = readFileSync;",
  'src/workflows/typed.ts':
    "import type { step } from '../activities/step.js';\nexport type T = typeof step;",
  'src/workflows/calls.ts': "import { step } from '../activities/step.js';\nexport const calls = step;",
  'src/bridge/route.ts': "import { worker } from '../workers/worker.js';\nexport const route = worker;",
  'src/config/settings.ts': "import { server } from '../stack/server.js';\nexport const settings = server;",
  'src/events/publish.ts': "import { main } from '../cli/main.js';\nexport const publish = main;",
  'src/cli/shared.ts': 'export const shared = 1;',
  'src/cli/commands/one.ts': "import { shared } from '../shared.js';\nexport const one = shared;",
  'src/cli/commands/two.ts': "import { one } from './one.js';\nexport const two = one;",
  'src/domain/chunking.ts': "import { encode } from 'gpt-tokenizer';\nexport const chunk = encode;",
  'src/domain/counts.ts': "import { chunk } from './chunking.js';\nexport const counts = chunk;",
  'src/domain/counted.ts': "import type { chunk } from './chunking.js';\nexport type C = typeof chunk;",
  'src/workflows/tokens.ts': "import { chunk } from '../domain/chunking.js';\nexport const tokens = chunk;",
  'src/workflows/tokenizer.ts': "import { encode } from 'gpt-tokenizer';\nexport const tokenizer = encode;",
  'src/workflows/typed-tokens.ts':
    "import type { chunk } from '../domain/chunking.js';\nexport type T = typeof chunk;",
};

describe('make lint: the direction of imports', () => {
  let fixture: string;
  let result: { code: number; output: string };

  beforeAll(async () => {
    fixture = await mkdtemp(join(tmpdir(), 'p8fs-boundaries-'));
    for (const [path, text] of Object.entries(FIXTURE)) {
      await mkdir(dirname(join(fixture, path)), { recursive: true });
      await writeFile(join(fixture, path), `${text}\n`);
    }
    result = await cruise(fixture);
  });
  afterAll(async () => {
    await rm(fixture, { recursive: true, force: true });
  });

  it('finds no violation in the real src/', async () => {
    const real = await cruise(root);
    expect(real.output).not.toMatch(/error /);
    expect(real.code).toBe(0);
    // A process that parses every module of src/: about 20 s alone, over a minute beside a loaded suite.
  }, 180_000);

  it('fails on a forbidden import and names the rule and the files', () => {
    expect(result.code).not.toBe(0);
    const expected = [
      'domain-is-pure: src/domain/impure.ts → src/activities/step.ts',
      'domain-without-io: src/domain/io.ts → fs',
      'workflows-deterministic: src/workflows/calls.ts → src/activities/step.ts',
      'processes-not-activities: src/bridge/route.ts → src/workers/worker.ts',
      'stack-only-from-cli: src/config/settings.ts → src/stack/server.ts',
      'nothing-imports-cli: src/events/publish.ts → src/cli/main.ts',
      'cli-commands-independent: src/cli/commands/two.ts → src/cli/commands/one.ts',
      'workflows-no-tokenizer: src/workflows/tokens.ts → src/domain/chunking.ts',
      'workflows-no-tokenizer: src/workflows/tokenizer.ts → gpt-tokenizer',
      'tokenizer-users-listed: src/domain/counts.ts → src/domain/chunking.ts',
    ];
    for (const line of expected) expect(result.output).toContain(line);
  });

  it('allows what the rules allow: type-only activity imports in workflows, hashing in domain, the CLI starting the stack, commands sharing src/cli/*.ts, type-only imports of tokenizer users', () => {
    expect(result.output).not.toContain('src/workflows/typed.ts');
    expect(result.output).not.toContain('src/cli/commands/one.ts →');
    expect(result.output).not.toContain('src/workflows/typed-tokens.ts');
    expect(result.output).not.toContain('src/domain/counted.ts');
    expect(result.output).not.toContain('src/domain/ok.ts');
    expect(result.output).not.toContain('src/cli/main.ts →');
    expect(result.output).not.toContain('src/workers/worker.ts →');
  });
});
