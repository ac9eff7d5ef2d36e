/**
 * Commands users already type (from the seeds and the design) whose work is not built yet. They are listed
 * so `p8fs --help` tells the truth, and they say so at run time with exit code 2 instead of pretending:
 * with any arguments, `--help` included (`p8fs api --help` must not print a help page that reads as if
 * the command worked, nor fall back to the root help with exit 0).
 */
import type { Command } from 'commander';

/** Exit code of a command that is announced but not built. */
export const NOT_BUILT_EXIT_CODE = 2;

export function notBuiltMessage(what: string): string {
  return `p8fs: ${what} is not built yet in this version. See docs/ARCHITECTURE.md ("What comes next").`;
}

export function notBuilt(what: string): () => void {
  return () => {
    console.error(notBuiltMessage(what));
    process.exitCode = NOT_BUILT_EXIT_CODE;
  };
}

/** Announced commands that do not exist yet: name, what it will be, and what to say when it is run. */
export const NOT_BUILT_COMMANDS: readonly { name: string; description: string; what: string }[] = [
  {
    name: 'api',
    description:
      'HTTP API (Fastify, OpenAPI) over files, resources and workflows: not built yet (exits 2); use the p8fs commands',
    what: '`p8fs api` (the HTTP API, src/api/ in the target layout)',
  },
];

export function registerNotBuiltCommands(program: Command): void {
  for (const { name, description, what } of NOT_BUILT_COMMANDS) {
    program
      .command(name)
      .description(description)
      // Every argument and option, --help included, reaches the action: it says "not built" and exits 2.
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(notBuilt(what));
  }
}
