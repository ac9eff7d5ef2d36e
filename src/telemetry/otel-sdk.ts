/**
 * The OpenTelemetry SDK, exporter and Temporal interceptor classes, in one module that is imported only
 * when tracing is on (startTracing in tracing.ts): loaded at start-up they cost every process about
 * 8 MiB of resident memory, which the large-tier worker's 256 MiB budget cannot spare for a feature that
 * is off by default.
 */
export { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
export { Resource } from '@opentelemetry/resources';
export { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
export { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
export {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
