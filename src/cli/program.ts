/**
 * The whole `p8fs` command tree: each sub-command lives in its own module under ./commands and registers
 * itself here, so `p8fs --help` always lists what really exists.
 */
import type { Command } from 'commander';
import { registerApiCommand } from './commands/api.js';
import { registerApikeyCommands } from './commands/apikey.js';
import { registerBatchCommands } from './commands/batch.js';
import { registerBridgeCommand } from './commands/bridge.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDlqCommands } from './commands/dlq.js';
import { registerDreamCommands } from './commands/dream.js';
import { registerDreamingCommand } from './commands/dreaming.js';
import { registerDreamingWorkerCommand } from './commands/dreaming-worker.js';
import { registerEmbedCommands } from './commands/embed.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerEventCommands } from './commands/event.js';
import { registerIngestCommand } from './commands/ingest.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerMomentsCommands } from './commands/moments.js';
import { registerRelatedCommand } from './commands/related.js';
import { registerRetryFailedCommand } from './commands/retry-failed.js';
import { registerScheduleCommands } from './commands/schedule.js';
import { registerSearchCommand } from './commands/search.js';
import { registerSelfTestCommand } from './commands/self-test.js';
import { registerSessionsCommands } from './commands/sessions.js';
import { registerStackCommands } from './commands/stack.js';
import { registerStatusCommand } from './commands/status.js';
import { registerStorageWorkerCommand } from './commands/storage-worker.js';
import { registerSubscriberCommand } from './commands/subscriber.js';
import { registerUserInsightWorkerCommand } from './commands/user-insight-worker.js';
import { registerWorkerCommand } from './commands/worker.js';
import { newProgram } from './root.js';

export function buildProgram(): Command {
  const program = newProgram();
  registerStackCommands(program);
  registerMigrateCommand(program);
  registerBridgeCommand(program);
  registerSubscriberCommand(program);
  registerStorageWorkerCommand(program);
  registerDreamingWorkerCommand(program);
  registerUserInsightWorkerCommand(program);
  registerWorkerCommand(program);
  registerSelfTestCommand(program);
  registerEventCommands(program);
  registerIngestCommand(program);
  registerDemoCommand(program);
  registerStatusCommand(program);
  registerDlqCommands(program);
  registerEvalCommand(program);
  registerDreamCommands(program);
  registerDreamingCommand(program);
  registerBatchCommands(program);
  registerEmbedCommands(program);
  registerSessionsCommands(program);
  registerMomentsCommands(program);
  registerRelatedCommand(program);
  registerScheduleCommands(program);
  registerRetryFailedCommand(program);
  registerSearchCommand(program);
  registerApiCommand(program);
  registerApikeyCommands(program);
  return program;
}
