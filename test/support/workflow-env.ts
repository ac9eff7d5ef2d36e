/**
 * Workflow tests without the rest of the stack: a private Temporal dev server started by the SDK's
 * TestWorkflowEnvironment from the installed binary (never downloaded), and the workflow code bundled
 * from source once per test file, so workers start in milliseconds and replay runs the current code.
 * Also the history JSON conversion shared by the replay test and scripts/capture-histories.ts.
 */
import { join } from 'node:path';
import { type History, historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  type LogEntry,
  Runtime,
  type WorkflowBundle,
} from '@temporalio/worker';
import { serverBinDir } from '../../src/stack/paths.js';
import { quietLogger, workflowsSourcePath } from '../../src/workers/workflow-bundle.js';

/** The `temporal` CLI installed by scripts/install-servers.sh; createLocal would download one otherwise. */
export function temporalBinary(): string {
  return join(serverBinDir(), 'temporal');
}

let runtimeInstalled = false;

/** One short line per entry: the tests provoke failures on purpose, and the SDK logs each in full. */
function oneLine(entry: LogEntry): void {
  const meta = entry.meta ?? {};
  const error = meta.error instanceof Error ? `${meta.error.name}: ${meta.error.message}` : undefined;
  const where = [meta.workflowType, meta.activityType, meta.workflowId].filter(Boolean).join(' ');
  console.error(`[temporal ${entry.level}] ${entry.message} (${where})${error ? ` ${error}` : ''}`);
}

/** Keeps the SDK's warnings, one line each, and drops its info lines (every worker state change). */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN', oneLine) });
  } catch {
    // Already installed by something else in this process: keep that one.
  }
}

/**
 * A dev server on a free port with an in-memory database, owned by the calling test file and stopped by
 * `env.teardown()`. It starts in well under a second, so each file gets its own.
 */
export async function createLocalTestEnv(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary() },
      log: { format: 'pretty', level: 'error' },
    },
  });
}

/** src/workflows (what every worker registers) as a bundle; pass it as `workflowBundle` to each worker. */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: workflowsSourcePath(),
    logger: quietLogger,
  });
}

/**
 * A history as JSON in the format of `temporal workflow show --output json`. The SDK's converters need
 * @temporalio/common and @temporalio/proto to share one protobufjs: package.json pins protobufjs at the
 * top level for that (grpc's proto-loader keeps its own protobufjs 7 below it).
 */
export function historyToJson(history: History): string {
  return historyToJSON(history);
}

/** The inverse of historyToJson: a History ready for Worker.runReplayHistories. */
export function historyFromJson(json: unknown): History {
  return historyFromJSON(json);
}
