/**
 * `p8fs storage-worker --tier small|medium|large`: the storage worker (ingestFile and its activities on
 * the tier task queues), as the seeds and the Deployments storage-worker-* run it. With --send-sample
 * FILE it is the self-test instead (`p8fs self-test`), the seeds' spelling of it.
 */
import type { Command } from 'commander';
import { PROCESS_COMMANDS } from '../process-commands.js';
import { addSelfTestOptions, SELF_TEST_HELP, type SelfTestCommandOptions } from '../self-test/options.js';
import { LARGE_TIER_HELP, runWorkerProcess, tierOption, WORKER_STOP_HELP } from '../worker-process.js';

export function registerStorageWorkerCommand(program: Command): void {
  const command = program
    .command(PROCESS_COMMANDS.storageWorker.name)
    .description(
      'Run the storage worker for one or more tiers; with --send-sample FILE, the self-test (`p8fs self-test`)',
    )
    .addOption(tierOption());
  addSelfTestOptions(command, false)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  p8fs storage-worker --tier small          # serves p8fs-storage-small',
        '  p8fs storage-worker --tier small medium   # one process, two task queues',
        '  p8fs storage-worker --tier small --send-sample ../shared/samples/content/Sample.pdf   # self-test',
        '',
        ...WORKER_STOP_HELP,
        ...LARGE_TIER_HELP,
        '',
        'With --send-sample (the self-test; --tenant, --timeout and --keep-workflow apply to it only):',
        ...SELF_TEST_HELP,
      ].join('\n'),
    )
    .action(async (options: SelfTestCommandOptions) => {
      const { sendSample } = options;
      if (sendSample === undefined) {
        await runWorkerProcess(options.tier);
        return;
      }
      // Imported on use: a storage worker never loads the self-test (its bridge routing, its S3 upload).
      const { runSelfTestCommand } = await import('../self-test/run.js');
      await runSelfTestCommand({ ...options, sendSample });
    });
}
