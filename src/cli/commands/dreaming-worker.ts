/**
 * `p8fs dreaming-worker`: the LLM worker on the p8fs-llm task queue (dreamAnalysis, dreamBatch,
 * buildMoments); the Deployment p8fs-dreaming-worker runs it. `p8fs worker --tier llm` is its
 * deprecated alias.
 */
import type { Command } from 'commander';
import { PROCESS_COMMANDS } from '../process-commands.js';
import { runWorkerProcess, WORKER_STOP_HELP } from '../worker-process.js';

export function registerDreamingWorkerCommand(program: Command): void {
  program
    .command(PROCESS_COMMANDS.dreamingWorker.name)
    .description(
      'Run the dreaming (LLM) worker: dreamAnalysis, dreamBatch and buildMoments on the p8fs-llm queue',
    )
    .addHelpText(
      'after',
      [
        '',
        'Provider: P8FS_LLM_PROVIDER (openai | anthropic | heuristic | local; default openai with',
        'OPENAI_API_KEY, else anthropic with ANTHROPIC_API_KEY, else the offline heuristic). The server',
        'limits the p8fs-llm queue to P8FS_LLM_MAX_ACTIVITIES_PER_SECOND activities/s across all dreaming workers.',
        '',
        ...WORKER_STOP_HELP,
      ].join('\n'),
    )
    .action(() => runWorkerProcess(['llm']));
}
