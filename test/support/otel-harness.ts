import nodeHttp from 'node:http';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A reader the spec collects from when it wants (no timer). */
class ManualReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The real OpenTelemetry SDK registered as an app registers it (global tracer and meter
 * providers, the AsyncLocalStorage context manager, the HTTP server instrumentation), with
 * in-memory exporters. The globals are process-wide: `start()` in `beforeAll`, `stop()` in
 * `afterAll`, so other spec files in the Jest worker see none of it.
 */
export class OtelHarness {
  readonly exporter = new InMemorySpanExporter();
  private readonly reader = new ManualReader();
  private readonly tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(this.exporter)],
  });
  private readonly meterProvider = new MeterProvider({ readers: [this.reader] });
  private readonly http = new HttpInstrumentation({ disableOutgoingRequestInstrumentation: true });

  start(): this {
    // Each returns false when something registered one before (the kit never does).
    const registered = [
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()),
      trace.setGlobalTracerProvider(this.tracerProvider),
      metrics.setGlobalMeterProvider(this.meterProvider),
    ];
    if (registered.includes(false))
      throw new Error('an OpenTelemetry global was already registered');
    this.http.setTracerProvider(this.tracerProvider);
    this.http.enable();
    // Jest hands modules a Module class of its own, so the instrumentation's require hook never
    // sees `http` load: apply its patch to Node's module as the hook would (and undo it after).
    for (const definition of this.http.getModuleDefinitions())
      if (definition.name === 'http') definition.patch?.(nodeHttp);
    return this;
  }

  async stop(): Promise<void> {
    for (const definition of this.http.getModuleDefinitions())
      if (definition.name === 'http') definition.unpatch?.(nodeHttp);
    this.http.disable();
    await this.tracerProvider.shutdown();
    await this.meterProvider.shutdown();
    trace.disable();
    metrics.disable();
    context.disable();
    propagation.disable();
  }

  spans(): ReadableSpan[] {
    return this.exporter.getFinishedSpans();
  }

  reset(): void {
    this.exporter.reset();
  }

  /** The finished spans named `name`. */
  named(name: string): ReadableSpan[] {
    return this.spans().filter((span) => span.name === name);
  }

  /** The HTTP server span of a request to `path`. */
  server(path: string): ReadableSpan[] {
    return this.spans().filter(
      (span) =>
        span.kind === 1 &&
        String(span.attributes['http.target'] ?? span.attributes['url.path']).startsWith(path),
    );
  }

  /** The span whose id `child` names as its parent. */
  parentOf(child: ReadableSpan): ReadableSpan | undefined {
    const id = child.parentSpanContext?.spanId;
    return this.spans().find((span) => span.spanContext().spanId === id);
  }

  /** Every data point of the metric `name` (cumulative since start). */
  async points(name: string): Promise<DataPoint<number | Histogram>[]> {
    const { resourceMetrics } = await this.reader.collect();
    const data: MetricData[] = resourceMetrics.scopeMetrics
      .filter((scope) => scope.scope.name === 'nestjs-llm-kit')
      .flatMap((scope) => scope.metrics)
      .filter((metric) => metric.descriptor.name === name);
    return data.flatMap((metric) => metric.dataPoints as DataPoint<number | Histogram>[]);
  }
}

export { until } from './until';
