// Imported first by main.ts, before Nest and the kit load: with OTEL_EXPORTER_OTLP_ENDPOINT set
// it registers the OpenTelemetry Node SDK (traces and metrics over OTLP/HTTP, the HTTP server
// span from @opentelemetry/instrumentation-http), so the kit's spans and metrics reach a
// collector. Unset, nothing is loaded: the requires below run only when the variable is set.
// The SDK patches `http` when it starts, so it must start before anything requires it.
import type * as SdkMetrics from '@opentelemetry/sdk-metrics';
import type * as SdkNode from '@opentelemetry/sdk-node';
import type * as TraceExporter from '@opentelemetry/exporter-trace-otlp-http';
import type * as MetricExporter from '@opentelemetry/exporter-metrics-otlp-http';
import type * as HttpInstrumentation from '@opentelemetry/instrumentation-http';

/**
 * Starts the SDK when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporters read it and the other
 * `OTEL_*` variables themselves). The service is `nestjs-llm-kit-sample` unless
 * `OTEL_SERVICE_NAME` names it; `OTEL_METRIC_EXPORT_INTERVAL` (ms, default 60 000) paces the
 * metric exports, `OTEL_BSP_SCHEDULE_DELAY` (ms, default 5 000) the span batches.
 */
function startTelemetry(env: NodeJS.ProcessEnv): SdkNode.NodeSDK | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when exporting */
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof SdkNode;
  const { PeriodicExportingMetricReader } =
    require('@opentelemetry/sdk-metrics') as typeof SdkMetrics;
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof TraceExporter;
  const { OTLPMetricExporter } =
    require('@opentelemetry/exporter-metrics-otlp-http') as typeof MetricExporter;
  const { HttpInstrumentation: Http } =
    require('@opentelemetry/instrumentation-http') as typeof HttpInstrumentation;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const intervalMs = Number(env.OTEL_METRIC_EXPORT_INTERVAL) || 60_000;
  const started = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || 'nestjs-llm-kit-sample',
    traceExporter: new OTLPTraceExporter(),
    metricReaders: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter(),
        exportIntervalMillis: intervalMs,
        exportTimeoutMillis: Math.min(intervalMs, 30_000),
      }),
    ],
    instrumentations: [new Http()],
  });
  started.start();
  return started;
}

let sdk = startTelemetry(process.env);

/**
 * Flushes and stops the SDK (the last spans and a final metric export); a no-op when it was not
 * started. The sample's `SampleTelemetryModule` calls it on application shutdown.
 */
export async function shutdownTelemetry(): Promise<void> {
  const stopping = sdk;
  sdk = undefined;
  await stopping?.shutdown();
}
