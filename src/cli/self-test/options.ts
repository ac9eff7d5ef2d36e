/**
 * The self-test's command line, shared by `p8fs self-test` and the seeds' spelling `p8fs storage-worker
 * --send-sample FILE`. Light on purpose: the storage worker registers these options without loading the
 * self-test itself (./run.ts, imported when --send-sample is given).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Tier } from '../../domain/tiers.js';

export const DEFAULT_SELF_TEST_TIMEOUT_SECONDS = 300;

/** The folder (category) the sample goes to: the seeds show it "Uploaded to: test/Sample.pdf". */
export const SELF_TEST_CATEGORY = 'test';

export interface SelfTestOptions {
  tiers: Tier[];
  tenant: string;
  /** Seconds before the self-test gives up (and stops its workflow, unless keepWorkflow). */
  timeoutSeconds: number;
  /** On deadline or signal, leave the workflow running (printed with the commands to stop it). */
  keepWorkflow?: boolean;
}

/** The options as commander parses them. */
export interface SelfTestCommandOptions {
  tier: Tier[];
  sendSample?: string;
  tenant: string;
  timeout: number;
  keepWorkflow?: boolean;
}

function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InvalidArgumentError('a number of seconds above 0');
  return seconds;
}

/** --send-sample, --tenant, --timeout and --keep-workflow (the command adds --tier). */
export function addSelfTestOptions(command: Command, sampleRequired: boolean): Command {
  const sample = '--send-sample <file>';
  const what = 'upload FILE, publish its event on the test subject and process it';
  if (sampleRequired) command.requiredOption(sample, what);
  else command.option(sample, `self-test: ${what}`);
  return command
    .option('--tenant <tenant>', 'bucket (tenant) to upload the sample into', 'tenant-test')
    .addOption(
      new Option('--timeout <seconds>', 'self-test deadline: give up (and stop its workflow) after this long')
        .argParser(positiveSeconds)
        .default(DEFAULT_SELF_TEST_TIMEOUT_SECONDS),
    )
    .option(
      '--keep-workflow',
      'self-test: on deadline or signal, leave its workflow running (printed with the commands to stop it)',
    );
}

/** How the self-test ends, for the help of both commands. */
export const SELF_TEST_HELP = [
  'The self-test ends at its --timeout (default 300 s) or on SIGINT/SIGTERM, whichever comes first.',
  'Then it terminates the workflow it started, so nothing retries after it (a workflow it only',
  'followed, e.g. one a running bridge had started, is left alone). With --keep-workflow it terminates',
  'nothing and prints the workflow id, its task queue and the `temporal workflow cancel` and',
  '`temporal workflow terminate` commands that stop it. Its in-process workers drain for at most',
  'P8FS_WORKER_SHUTDOWN_GRACE_SECONDS. A second signal exits at once.',
  'Exit codes: 0 passed; 1 failed or timed out; 130 (SIGINT) or 143 (SIGTERM) interrupted.',
];
