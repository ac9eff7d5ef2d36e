/**
 * OpenTelemetry tracing of a process: off unless an OTLP endpoint is configured
 * (P8FS_OTEL_EXPORTER_OTLP_ENDPOINT or the standard OTEL_EXPORTER_OTLP_ENDPOINT). When on, one tracer
 * provider per process exports spans over OTLP/HTTP to `<endpoint>/v1/traces` under the process's
 * service name (process-names.ts: p8fs-bridge, p8fs-storage-worker, p8fs-dreaming-worker; OTEL_SERVICE_NAME overrides it).
 *
 * One file is one trace: the bridge's span for the event is the parent of the workflow start (Temporal's
 * OpenTelemetry client interceptor carries its context in the start's headers); the workflow interceptors
 * (bundled with the workflows) and the activity interceptors (src/workers/tracing-interceptors.ts)
 * continue it on the workers.
 *
 * The SDK line is OpenTelemetry JS 1.x (sdk-trace-* 1.30, exporter 0.57): the line
 * @temporalio/interceptors-opentelemetry 1.24 is built on; its workflow span sink hands over spans in
 * the 1.x shape (parentSpanId, instrumentationLibrary), which 2.x exporters would not read.
 */
import {
  type Attributes,
  context,
  DiagLogLevel,
  diag as otelDiag,
  propagation,
  type Span,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { ClientInterceptors } from '@temporalio/client';
import type { Config } from '../config/config.js';
import type { Logger } from './logger.js';

/** The SDK classes, loaded by startTracing only when tracing is on (otel-sdk.ts says why). */
type OtelSdk = typeof import('./otel-sdk.js');

/** Name of the tracer our own spans (the bridge's) are made with. */
export const TRACER_NAME = 'p8fs-flows';
/** Spans wait at most this long in the batch before they are sent (OTel's default is 5 s). */
const EXPORT_DELAY_MS = 2000;
/** The same SDK complaint is logged at most once in this interval. */
const DIAG_REPEAT_MS = 60_000;

interface ActiveTracing {
  sdk: OtelSdk;
  provider: InstanceType<OtelSdk['NodeTracerProvider']>;
  processor: import('./otel-sdk.js').SpanProcessor;
  resource: InstanceType<OtelSdk['Resource']>;
  serviceName: string;
  tracesUrl: string;
}

let active: ActiveTracing | undefined;

/** Where spans go: `<endpoint>/v1/traces`, the OTLP/HTTP traces path; undefined when tracing is off. */
export function tracesUrl(cfg: Pick<Config, 'tracing'>): string | undefined {
  const endpoint = cfg.tracing.endpoint;
  if (!endpoint) return undefined;
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

export function tracingConfigured(cfg: Pick<Config, 'tracing'>): boolean {
  return tracesUrl(cfg) !== undefined;
}

/**
 * Starts tracing for this process when an endpoint is configured (idempotent: the first caller's
 * service name wins, as a process is one service). Returns whether tracing is on. Spans are flushed by
 * flushTracing() when a process stops its work, and on the way out of the process.
 */
export async function startTracing(
  cfg: Pick<Config, 'tracing'>,
  defaultServiceName: string,
  log?: Logger,
): Promise<boolean> {
  if (active) return true;
  const url = tracesUrl(cfg);
  if (!url) return false;
  const sdk = await import('./otel-sdk.js');
  // Another caller may have started it while the SDK loaded.
  if (active) return true;
  const { BatchSpanProcessor, NodeTracerProvider, OTLPTraceExporter, Resource } = sdk;
  const serviceName = cfg.tracing.serviceName ?? defaultServiceName;
  const resource = new Resource({ 'service.name': serviceName, 'process.pid': process.pid });
  const exporter = new OTLPTraceExporter({ url });
  const processor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: EXPORT_DELAY_MS });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // Global tracer provider, AsyncLocalStorage context manager and W3C trace-context propagator: the
  // Temporal interceptors read and write span context through these globals.
  provider.register();
  if (log) {
    // The SDK's own complaints (an unreachable collector) go to our log at warn, each distinct message
    // at most once a minute: a receiver that is down must not flood the log every export interval.
    const diagLog = log.child({ component: 'otel' });
    const lastSaid = new Map<string, number>();
    const say = (message: string) => {
      const now = Date.now();
      if (now - (lastSaid.get(message) ?? 0) < DIAG_REPEAT_MS) return;
      lastSaid.set(message, now);
      diagLog.warn({ endpoint: url }, `tracing: ${message}`);
    };
    otelDiag.setLogger(
      { error: say, warn: say, info: () => undefined, debug: () => undefined, verbose: () => undefined },
      DiagLogLevel.WARN,
    );
    log.info({ serviceName, endpoint: url }, 'tracing on: exporting spans over OTLP/HTTP');
  }
  active = { sdk, provider, processor, resource, serviceName, tracesUrl: url };
  // Last chance for spans still in the batch when the event loop empties (a command that just returns).
  process.once('beforeExit', () => void shutdownTracing());
  return true;
}

/**
 * Interceptors for a Temporal client when this process traces (startTracing ran first with an
 * endpoint): a workflow start becomes a span under the active one (the bridge's span for the event) and
 * carries its context to the workflow in headers. Without a tracer provider there is no span to carry.
 */
export function clientTracingInterceptors(): ClientInterceptors | undefined {
  return active ? { workflow: [new active.sdk.OpenTelemetryWorkflowClientInterceptor()] } : undefined;
}

/**
 * This process's tracing, for the worker's interceptors and workflow span sink; undefined when off.
 */
export function activeTracing():
  | Pick<ActiveTracing, 'sdk' | 'processor' | 'resource' | 'serviceName'>
  | undefined {
  return active;
}

/** Sends the spans in the batch now; the provider stays usable. Never throws. */
export async function flushTracing(): Promise<void> {
  await active?.provider.forceFlush().catch(() => undefined);
}

/** Flushes and stops the provider (end of the process). Never throws. */
export async function shutdownTracing(): Promise<void> {
  const current = active;
  active = undefined;
  if (!current) return;
  await current.provider.shutdown().catch(() => undefined);
  // Unregister every global register() set, so a later startTracing (tests) starts clean.
  trace.disable();
  context.disable();
  propagation.disable();
  otelDiag.disable();
}

/**
 * Runs `fn` inside a new active span (a child of the active one, if any) and ends it; an error marks the
 * span failed and is rethrown. With tracing off the API's no-op tracer makes this cost next to nothing.
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds attributes (undefined ones skipped) to the active span, e.g. what the bridge decided for an event. */
export function annotateActiveSpan(
  attributes: Record<string, string | number | boolean | undefined>,
  failure?: string,
): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  for (const [key, value] of Object.entries(attributes))
    if (value !== undefined) span.setAttribute(key, value);
  if (failure) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
}
