/**
 * `p8fs`: one command-line entry for every process and tool (the command tree: ./program.ts).
 *
 * The long-running processes load only their own command: the tree imports every command's
 * dependencies (the HTTP framework, LLM SDKs, parsers), about 35 MiB of resident memory that a worker
 * held to a memory budget (the large tier: 256 MiB) would carry for nothing. Everything else, root help
 * and unknown commands included, gets the whole tree.
 */
import type { Command } from 'commander';
import { PROCESS_COMMANDS } from './process-commands.js';
import { newProgram } from './root.js';

type Register = (program: Command) => void;

const LOADERS: Array<[{ name: string; aliases: readonly string[] }, () => Promise<Register>]> = [
  [PROCESS_COMMANDS.worker, async () => (await import('./commands/worker.js')).registerWorkerCommand],
  [
    PROCESS_COMMANDS.storageWorker,
    async () => (await import('./commands/storage-worker.js')).registerStorageWorkerCommand,
  ],
  [
    PROCESS_COMMANDS.dreamingWorker,
    async () => (await import('./commands/dreaming-worker.js')).registerDreamingWorkerCommand,
  ],
  [
    PROCESS_COMMANDS.userInsightWorker,
    async () => (await import('./commands/user-insight-worker.js')).registerUserInsightWorkerCommand,
  ],
  [PROCESS_COMMANDS.bridge, async () => (await import('./commands/bridge.js')).registerBridgeCommand],
  [
    PROCESS_COMMANDS.subscriber,
    async () => (await import('./commands/subscriber.js')).registerSubscriberCommand,
  ],
  [PROCESS_COMMANDS.api, async () => (await import('./commands/api.js')).registerApiCommand],
];

/** Each process command under its name and every alias. */
const PROCESS_LOADERS = new Map(
  LOADERS.flatMap(([command, load]) => [command.name, ...command.aliases].map((name) => [name, load])),
);

export async function main(argv: string[] = process.argv): Promise<void> {
  const name = argv[2];
  const loadOne = name !== undefined ? PROCESS_LOADERS.get(name) : undefined;
  let program: Command;
  if (loadOne) {
    program = newProgram();
    (await loadOne())(program);
  } else {
    program = (await import('./program.js')).buildProgram();
  }
  await program.parseAsync(argv);
}
