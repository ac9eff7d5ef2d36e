/**
 * The seeds' self-test (`p8fs self-test --tier small --send-sample FILE`, also spelled `p8fs
 * storage-worker --tier small --send-sample FILE`): uploads FILE, publishes its storage event, routes it
 * as the bridge does, processes it with an in-process worker through a real workflow and prints each step
 * (./steps.ts). Exit code 0 only on success.
 *
 * The self-test never outlives its deadline (--timeout) or a signal, and never leaves work behind
 * silently: on either it terminates the workflow it started (or, with --keep-workflow, or when the
 * workflow was not its own, prints the workflow id, its task queue and the commands that stop it).
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { type Config, loadConfig } from '../../config/config.js';
import { parseStorageEvent } from '../../domain/storage-event.js';
import { controlCharacterIn } from '../control-characters.js';
import { signalExitCode } from '../signal-exit-code.js';
import {
  bounded,
  CLEANUP_STEP_MS,
  Interrupted,
  type Progress,
  settleInterrupted,
  step,
} from './interrupt.js';
import { SELF_TEST_CATEGORY, type SelfTestCommandOptions, type SelfTestOptions } from './options.js';
import { type SelfTestResources, selfTestSteps } from './steps.js';

export type SelfTestResult =
  | { kind: 'passed' }
  | { kind: 'failed' }
  | { kind: 'interrupted'; by: NodeJS.Signals | 'deadline' };

/**
 * The sample must make an event the contract accepts, checked before anything is uploaded: a name the
 * bridge would reject (a newline, a backslash, a bad tenant) fails here, naming the file and the reason.
 */
export function checkSampleName(file: string, tenant: string): void {
  const name = basename(file);
  const control = controlCharacterIn(name);
  if (control) {
    throw new Error(
      `--send-sample: the file name ${JSON.stringify(name)} (${JSON.stringify(file)}) contains a ${control}, ` +
        'which storage events reject; rename the file. Nothing was uploaded.',
    );
  }
  const parsed = parseStorageEvent({
    event_type: 'create',
    path: `/buckets/${tenant}/${SELF_TEST_CATEGORY}/${name}`,
  });
  if (parsed.kind !== 'event') {
    throw new Error(
      `--send-sample: ${JSON.stringify(file)} with --tenant ${JSON.stringify(tenant)} would make an event the bridge rejects: ${parsed.reason}. Nothing was uploaded.`,
    );
  }
}

export async function runSelfTest(
  cfg: Config,
  file: string,
  options: SelfTestOptions,
): Promise<SelfTestResult> {
  const started = Date.now();
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) {
      step(`${signal} again: exiting now`);
      process.exit(signalExitCode(signal));
    }
    interrupt.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const deadline = setTimeout(() => interrupt.abort('deadline'), options.timeoutSeconds * 1000);
  const progress: Progress = {};
  const resources: SelfTestResources = {};
  try {
    const steps = selfTestSteps(cfg, file, options, interrupt.signal, progress, resources, started);
    // Work still in flight when interrupted settles (or fails) on its own; it must not crash the process.
    steps.catch(() => undefined);
    return (await steps) ? { kind: 'passed' } : { kind: 'failed' };
  } catch (error) {
    if (!(error instanceof Interrupted)) throw error;
    await settleInterrupted(cfg, resources.temporal, progress, options, error.by, started);
    return { kind: 'interrupted', by: error.by };
  } finally {
    clearTimeout(deadline);
    // Every step bounded: a server that went away must not hold the process (the workers drain for at
    // most P8FS_WORKER_SHUTDOWN_GRACE_SECONDS, then cancel what is left).
    const { workers, running, temporal, nc, s3 } = resources;
    if (workers) {
      workers.shutdown();
      if (running) await bounded(running, cfg.worker.shutdownGraceSeconds * 1000 + 2 * CLEANUP_STEP_MS);
    }
    if (temporal) await bounded(temporal.connection.close(), CLEANUP_STEP_MS);
    if (nc) await bounded(nc.close(), CLEANUP_STEP_MS);
    s3?.destroy();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The action of both self-test commands: check the sample, run, report, set the exit code. */
export async function runSelfTestCommand(
  options: SelfTestCommandOptions & { sendSample: string },
): Promise<void> {
  const cfg = loadConfig();
  const file = resolve(options.sendSample);
  checkSampleName(file, options.tenant);
  if (!existsSync(file)) throw new Error(`--send-sample: file not found: ${file}`);
  const result = await runSelfTest(cfg, file, {
    tiers: [...new Set(options.tier)],
    tenant: options.tenant,
    timeoutSeconds: options.timeout,
    keepWorkflow: options.keepWorkflow,
  });
  console.log(result.kind === 'passed' ? '[self-test] PASSED' : '[self-test] FAILED');
  process.exitCode =
    result.kind === 'passed'
      ? 0
      : result.kind === 'interrupted' && result.by !== 'deadline'
        ? signalExitCode(result.by)
        : 1;
  // Everything was closed above; nothing left over (a request to a server that went away) may hold
  // the process open after its report.
  setTimeout(() => process.exit(), CLEANUP_STEP_MS).unref();
}
