/**
 * `p8fs worker --tier …`: the older spelling, kept as an alias. Storage tiers run the storage worker
 * (`p8fs storage-worker`); `--tier llm` runs the dreaming worker (`p8fs dreaming-worker`) and is
 * deprecated: `llm` is a task queue, not a storage tier, so help no longer lists it.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { TIERS } from '../../domain/tiers.js';
import { PROCESS_COMMANDS } from '../process-commands.js';
import { LARGE_TIER_HELP, runWorkerProcess, WORKER_STOP_HELP, type WorkerQueue } from '../worker-process.js';

const QUEUES: readonly string[] = [...TIERS, 'llm'];

/** Like the storage worker's --tier, but `llm` is still accepted (unlisted). */
function workerTierOption(): Option {
  const option = new Option('--tier <tier...>', 'storage tier(s) to serve; repeat or list several').default([
    'small',
  ]);
  return option.argParser((value: string, previous: WorkerQueue[]): WorkerQueue[] => {
    if (!QUEUES.includes(value)) throw new InvalidArgumentError(`Allowed choices are ${TIERS.join(', ')}.`);
    // The default is replaced by what is given, as commander's own variadic options do.
    return previous === option.defaultValue ? [value as WorkerQueue] : [...previous, value as WorkerQueue];
  });
}

export function registerWorkerCommand(program: Command): void {
  program
    .command(PROCESS_COMMANDS.worker.name)
    .description(
      'Alias of `p8fs storage-worker --tier …`: storage workers for one or more tiers in this process',
    )
    .addOption(workerTierOption())
    .addHelpText(
      'after',
      [
        '',
        'Example:',
        '  p8fs worker --tier small medium   # the same as: p8fs storage-worker --tier small medium',
        '',
        '`--tier llm` still runs the dreaming worker but is deprecated: use `p8fs dreaming-worker`.',
        ...WORKER_STOP_HELP,
        ...LARGE_TIER_HELP,
      ].join('\n'),
    )
    .action(async (options: { tier: WorkerQueue[] }) => {
      if (options.tier.includes('llm'))
        process.stderr.write(
          'p8fs: `worker --tier llm` is deprecated: run `p8fs dreaming-worker` (the same p8fs-llm queue)\n',
        );
      await runWorkerProcess(options.tier);
    });
}
