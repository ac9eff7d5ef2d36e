/**
 * `p8fs`: one command-line entry for every process and tool. Each sub-command lives in its own module
 * under ./commands and registers itself here, so `p8fs --help` always lists what really exists.
 */
import { Command } from 'commander';
import { registerApiCommand } from './commands/api.js';
import { registerApikeyCommands } from './commands/apikey.js';
import { registerBatchCommands } from './commands/batch.js';
import { registerBridgeCommand } from './commands/bridge.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDlqCommands } from './commands/dlq.js';
import { registerDreamCommands } from './commands/dream.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerEventCommands } from './commands/event.js';
import { registerIngestCommand } from './commands/ingest.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerRetryFailedCommand } from './commands/retry-failed.js';
import { registerScheduleCommands } from './commands/schedule.js';
import { registerSearchCommand } from './commands/search.js';
import { registerSeaweedEventsCommand } from './commands/seaweed-events.js';
import { registerSessionsCommands } from './commands/sessions.js';
import { registerStackCommands } from './commands/stack.js';
import { registerStatusCommand } from './commands/status.js';
import { registerStorageWorkerCommand } from './commands/storage-worker.js';
import { registerWorkerCommand } from './commands/worker.js';
import { versionText } from './version.js';

export function buildProgram(): Command {
  const program = new Command('p8fs')
    .description('P8FS Flows: storage events to durable Temporal workflows (ingestion, dreams, moments)')
    .version(versionText(), '-V, --version', 'print the version of p8fs and of the Temporal SDK it runs')
    // An unknown command or option is an error (exit 1) with a suggestion ("Did you mean status?") and a
    // one-line hint, not a whole help page that hides the error.
    .showSuggestionAfterError(true)
    .showHelpAfterError('(add --help for usage)');
  registerStackCommands(program);
  registerMigrateCommand(program);
  registerBridgeCommand(program);
  registerSeaweedEventsCommand(program);
  registerWorkerCommand(program);
  registerStorageWorkerCommand(program);
  registerEventCommands(program);
  registerIngestCommand(program);
  registerDemoCommand(program);
  registerStatusCommand(program);
  registerDlqCommands(program);
  registerEvalCommand(program);
  registerDreamCommands(program);
  registerBatchCommands(program);
  registerSessionsCommands(program);
  registerScheduleCommands(program);
  registerRetryFailedCommand(program);
  registerSearchCommand(program);
  registerApiCommand(program);
  registerApikeyCommands(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  await program.parseAsync(argv);
}
