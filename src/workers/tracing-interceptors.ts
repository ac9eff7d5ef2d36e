/**
 * Temporal's OpenTelemetry interceptors on the worker side (src/telemetry/tracing.ts has the process's
 * provider and the client side):
 * - the workflow interceptors run inside the workflow sandbox, so they are bundled with the workflows
 *   (WORKFLOW_INTERCEPTOR_MODULES, used by workflow-bundle.ts and the prebuilt bundle); they continue the
 *   trace from the start's headers, make the RunWorkflow/StartActivity spans and pass the context on to
 *   every activity in its headers;
 * - the activity interceptors make a RunActivity span under it;
 * - the `exporter` sink carries the workflow's spans out of the sandbox into this process's exporter.
 *
 * The workflow interceptors are always in the bundle (one bundle serves traced and untraced workers, and
 * they add nothing to the history), so the sink is always registered: with tracing off it drops the spans,
 * instead of the SDK logging an error about an unregistered sink for every workflow task.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerOptions, WorkflowBundleOption } from '@temporalio/worker';
import type { Logger } from '../telemetry/logger.js';
import { activeTracing } from '../telemetry/tracing.js';

const require = createRequire(import.meta.url);

/** The module (in the interceptors package) whose `interceptors` the workflow sandbox installs. */
export const WORKFLOW_INTERCEPTOR_MODULES: string[] = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/** A string only a bundle with the workflow interceptors contains. */
const BUNDLE_MARKER = 'OpenTelemetryInboundInterceptor';

const dropSpans: InjectedSinks<OpenTelemetrySinks> = {
  exporter: { export: { fn: () => undefined } },
};

/**
 * Interceptors and sinks for Worker.create: the tracing ones when this process traces (startTracing was
 * called with an endpoint), otherwise only the sink that drops the workflow's spans.
 */
export function workerTracingOptions(): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  const tracing = activeTracing();
  if (!tracing) return { sinks: dropSpans };
  // The classes come from the SDK module startTracing loaded (not imported here: see otel-sdk.ts).
  const {
    makeWorkflowExporter,
    OpenTelemetryActivityInboundInterceptor,
    OpenTelemetryActivityOutboundInterceptor,
  } = tracing.sdk;
  return {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(tracing.processor, tracing.resource) },
  };
}

/**
 * A prebuilt bundle made before tracing existed has no workflow interceptors: its traces would stop at
 * the workflow start. Says so (once, at start-up) when this process traces.
 */
export function warnIfBundleUntraced(bundle: WorkflowBundleOption, log: Logger): void {
  if (!activeTracing() || !('codePath' in bundle)) return;
  try {
    if (readFileSync(bundle.codePath, 'utf8').includes(BUNDLE_MARKER)) return;
  } catch {
    return; // the worker itself reports an unreadable bundle
  }
  log.warn(
    { bundle: bundle.codePath },
    'tracing is on but the prebuilt workflow bundle has no tracing interceptors: traces will stop at the ' +
      'workflow start. Rebuild it with `npm run build` (or set P8FS_WORKFLOW_BUNDLE=source)',
  );
}
