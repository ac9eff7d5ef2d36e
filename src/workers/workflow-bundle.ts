/**
 * Workers load a prebuilt workflow bundle (dist/workflow-bundle.js, made by `npm run build`) when one
 * exists; in development and tests they bundle src/workflows once per process instead, shared by every
 * tier's worker.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';
import type { Config } from '../config/config.js';
import { projectRoot } from '../config/project-root.js';

export function prebuiltBundlePath(): string {
  return join(projectRoot(), 'dist', 'workflow-bundle.js');
}

export function workflowsSourcePath(): string {
  const source = join(projectRoot(), 'src', 'workflows', 'index.ts');
  return existsSync(source) ? source : join(projectRoot(), 'dist', 'workflows', 'index.js');
}

/** Webpack's report of every module is noise for people running `make`; warnings and errors remain. */
export const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

let bundled: Promise<WorkflowBundleOption> | undefined;

export function workflowBundle(cfg: Pick<Config, 'worker'>): Promise<WorkflowBundleOption> {
  if (!cfg.worker.bundleFromSource && existsSync(prebuiltBundlePath())) {
    return Promise.resolve({ codePath: prebuiltBundlePath() });
  }
  bundled ??= bundleWorkflowCode({ workflowsPath: workflowsSourcePath(), logger: quietLogger });
  return bundled;
}
