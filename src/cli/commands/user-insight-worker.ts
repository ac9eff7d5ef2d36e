/**
 * `p8fs user-insight-worker`: the worker on the p8fs-user-insight task queue (tenantMoments, userSummary);
 * the Deployment user-insight-worker runs it (src/workers/user-insight-worker.ts).
 */
import type { Command } from 'commander';
import { PROCESS_COMMANDS } from '../process-commands.js';
import { runWorkerProcess, WORKER_STOP_HELP } from '../worker-process.js';

export function registerUserInsightWorkerCommand(program: Command): void {
  program
    .command(PROCESS_COMMANDS.userInsightWorker.name)
    .description(
      'Run the user insight worker: the moments task (tenantMoments) and the user summary (userSummary) on the p8fs-user-insight queue',
    )
    .addHelpText(
      'after',
      [
        '',
        'Runs what `p8fs dreaming process --task moments|user-summary` and the insights schedule start.',
        'Provider: as the dreaming worker (P8FS_LLM_PROVIDER; default openai with OPENAI_API_KEY, else',
        'anthropic with ANTHROPIC_API_KEY, else the offline heuristic). The server limits the',
        'p8fs-user-insight queue to P8FS_LLM_MAX_ACTIVITIES_PER_SECOND activities/s across its workers.',
        '',
        ...WORKER_STOP_HELP,
      ].join('\n'),
    )
    .action(() => runWorkerProcess(['user-insight']));
}
