/**
 * Workers load a prebuilt workflow bundle (dist/workflow-bundle.js, made by `npm run build`) when one
 * exists; in development and tests they bundle src/workflows once per process instead, shared by every
 * tier's worker.
 */
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';
import type { Config } from '../config/config.js';
import { projectRoot } from '../config/project-root.js';
// The OpenTelemetry workflow interceptors are part of every bundle (traces continue inside workflows).
import { WORKFLOW_INTERCEPTOR_MODULES } from './tracing-interceptors.js';

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
  bundled ??= bundleWorkflowCode({
    workflowsPath: workflowsSourcePath(),
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: quietLogger,
  });
  return bundled;
}

/**
 * Bundles src/workflows into the prebuilt bundle's place (written aside, then renamed, so a worker
 * starting meanwhile reads the old bundle or the new one, never half of one). `npm run build` and the
 * test run's global setup call it. Returns the bundle's size in bytes.
 */
export async function writePrebuiltBundle(): Promise<number> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: workflowsSourcePath(),
    // The OpenTelemetry workflow interceptors (src/workers/tracing-interceptors.ts) ride in the bundle.
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: quietLogger,
  });
  const aside = `${prebuiltBundlePath()}.${process.pid}.tmp`;
  await writeFile(aside, code);
  await rename(aside, prebuiltBundlePath());
  return code.length;
}
