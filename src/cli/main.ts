/**
 * `p8fs`: one command-line entry for every process and tool. Each sub-command lives in its own module
 * under ./commands and registers itself here, so `p8fs --help` always lists what really exists.
 */
import { Command } from 'commander';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerStackCommands } from './commands/stack.js';

export function buildProgram(): Command {
  const program = new Command('p8fs')
    .description('P8FS Flows: storage events to durable Temporal workflows (ingestion, dreams, moments)')
    .showHelpAfterError();
  registerStackCommands(program);
  registerMigrateCommand(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  await program.parseAsync(argv);
}
