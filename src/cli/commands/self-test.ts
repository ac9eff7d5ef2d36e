/**
 * `p8fs self-test --tier small --send-sample FILE`: the end-to-end self-test (src/cli/self-test). The
 * seeds spell it `p8fs storage-worker --tier small --send-sample FILE`, which runs the same.
 */
import type { Command } from 'commander';
import { PROCESS_COMMANDS } from '../process-commands.js';
import { addSelfTestOptions, SELF_TEST_HELP, type SelfTestCommandOptions } from '../self-test/options.js';
import { tierOption } from '../worker-process.js';

export function registerSelfTestCommand(program: Command): void {
  const command = program
    .command(PROCESS_COMMANDS.selfTest.name)
    .description('End-to-end self-test on the real servers: upload → publish → route → process → report')
    .addOption(tierOption());
  addSelfTestOptions(command, true)
    .addHelpText(
      'after',
      [
        '',
        'Example:',
        '  p8fs self-test --tier small --send-sample ../shared/samples/content/Sample.pdf',
        '  p8fs storage-worker --tier small --send-sample ../shared/samples/content/Sample.pdf   # the same',
        '',
        ...SELF_TEST_HELP,
      ].join('\n'),
    )
    .action(async (options: SelfTestCommandOptions & { sendSample: string }) => {
      const { runSelfTestCommand } = await import('../self-test/run.js');
      await runSelfTestCommand(options);
    });
}
