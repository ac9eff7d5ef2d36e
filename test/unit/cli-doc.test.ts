/**
 * docs/CLI.md is generated from the command tree (scripts/gen-cli-doc.ts): it fails here when a command,
 * option, alias or help text changed without the page being written again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI_DOC_PATH, renderCliDoc } from '../../scripts/gen-cli-doc.js';
import { buildProgram } from '../../src/cli/program.js';

describe('docs/CLI.md', () => {
  const generated = renderCliDoc(buildProgram());

  it('is what scripts/gen-cli-doc.ts writes today', () => {
    const current = existsSync(CLI_DOC_PATH) ? readFileSync(CLI_DOC_PATH, 'utf8') : '';
    expect(current, 'docs/CLI.md is stale: run `make docs` and commit docs/CLI.md').toBe(generated);
  });

  it('covers every command and sub-command, with its aliases', () => {
    const walk = (command: ReturnType<typeof buildProgram>, path: string): string[] =>
      command.commands.flatMap((sub) => {
        const here = `${path} ${sub.name()}`;
        return [here, ...sub.aliases().map((a) => `${path} ${a}`), ...walk(sub, here)];
      });
    for (const name of walk(buildProgram(), 'p8fs')) expect(generated).toContain(`\`${name}\``);
  });
});
