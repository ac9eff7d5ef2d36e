/**
 * `p8fs`: one command-line entry for every process and tool (the command tree: ./program.ts).
 *
 * The long-running processes load only their own command: the tree imports every command's
 * dependencies (the HTTP framework, LLM SDKs, parsers), about 35 MiB of resident memory that a worker
 * held to a memory budget (the large tier: 256 MiB) would carry for nothing. Everything else, root help
 * and unknown commands included, gets the whole tree.
 */
import type { Command } from 'commander';
import { newProgram } from './root.js';

type Register = (program: Command) => void;

const PROCESS_COMMANDS: Record<string, () => Promise<Register>> = {
  worker: async () => (await import('./commands/worker.js')).registerWorkerCommand,
  bridge: async () => (await import('./commands/bridge.js')).registerBridgeCommand,
  'seaweed-events': async () => (await import('./commands/seaweed-events.js')).registerSeaweedEventsCommand,
  api: async () => (await import('./commands/api.js')).registerApiCommand,
};

export async function main(argv: string[] = process.argv): Promise<void> {
  const name = argv[2];
  const loadOne =
    name !== undefined && Object.hasOwn(PROCESS_COMMANDS, name) ? PROCESS_COMMANDS[name] : undefined;
  let program: Command;
  if (loadOne) {
    program = newProgram();
    (await loadOne())(program);
  } else {
    program = (await import('./program.js')).buildProgram();
  }
  await program.parseAsync(argv);
}
