import type * as Api from '@opentelemetry/api';
import { optionalRequire } from '../common/optional-require';

/** The instrumentation scope of every span and instrument the kit makes. */
export const SCOPE_NAME = 'nestjs-llm-kit';

/** The package's version (the scope's version); undefined when a bundler dropped package.json. */
export const SCOPE_VERSION: string | undefined = (() => {
  try {
    // src/telemetry and dist/telemetry both sit two levels below the package root.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const version = (require('../../package.json') as { version?: unknown }).version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * `@opentelemetry/api`, or null when the app does not have it (an optional peer): then every
 * telemetry call of the kit returns at its first line. Loaded once, on first use.
 */
let loaded: typeof Api | null | undefined;
export function otelApi(): typeof Api | null {
  if (loaded === undefined) loaded = optionalRequire<typeof Api>('@opentelemetry/api');
  return loaded;
}

/** The API's no-op tracer provider (what its proxy delegates to until one is registered). */
let noopTracers: Api.TracerProvider | undefined;

/**
 * `@opentelemetry/api` when the app registered a tracer or a meter provider, else null: with
 * neither, a call skips the telemetry altogether rather than feed the API's no-op objects.
 */
export function otelInUse(): typeof Api | null {
  const api = otelApi();
  if (!api) return null;
  noopTracers ??= new api.ProxyTracerProvider().getDelegate();
  const tracers = api.trace.getTracerProvider();
  const tracing =
    !(tracers instanceof api.ProxyTracerProvider) || tracers.getDelegate() !== noopTracers;
  return tracing || !kitInstruments(api).noop ? api : null;
}

/**
 * The kit's tracer, from the app's registered provider (the global API's proxy until one is
 * registered). Fetched each time: an app (or a test) may register, disable and register again.
 */
export function kitTracer(api: typeof Api): Api.Tracer {
  return api.trace.getTracer(SCOPE_NAME, SCOPE_VERSION);
}

/** The semantic conventions' bucket advice for `gen_ai.client.token.usage` ({token}). */
const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
/** The semantic conventions' bucket advice for `gen_ai.client.operation.duration` (s). */
const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/** The kit's instruments on one meter provider. */
export interface KitInstruments {
  tokenUsage: Api.Histogram;
  duration: Api.Histogram;
  cacheOutcomes: Api.Counter;
  savedUsd: Api.Counter;
  throttleDecisions: Api.Counter;
  /** True on the API's no-op meter provider (no app provider registered). */
  noop: boolean;
}

/** Created once per meter provider (an app registers one; tests swap theirs). */
const byProvider = new WeakMap<Api.MeterProvider, KitInstruments>();

/** The kit's instruments on the app's registered meter provider (no-op ones without). */
export function kitInstruments(api: typeof Api): KitInstruments {
  const provider = api.metrics.getMeterProvider();
  let instruments = byProvider.get(provider);
  if (instruments === undefined) {
    const meter = provider.getMeter(SCOPE_NAME, SCOPE_VERSION);
    instruments = {
      noop: meter === api.createNoopMeter(),
      tokenUsage: meter.createHistogram('gen_ai.client.token.usage', {
        unit: '{token}',
        description: 'Number of input and output tokens used.',
        advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
      }),
      duration: meter.createHistogram('gen_ai.client.operation.duration', {
        unit: 's',
        description: 'GenAI operation duration.',
        advice: { explicitBucketBoundaries: DURATION_BUCKETS },
      }),
      cacheOutcomes: meter.createCounter('llm_kit.cache.outcomes', {
        description: 'LLM calls and @CacheLLM requests by cache outcome.',
      }),
      savedUsd: meter.createCounter('llm_kit.cache.saved_usd', {
        unit: 'USD',
        description: 'Cost of the upstream calls that cache hits and coalesced waits did not make.',
      }),
      throttleDecisions: meter.createCounter('llm_kit.throttle.decisions', {
        description: 'Throttle verdicts by decision and deciding policy.',
      }),
    };
    byProvider.set(provider, instruments);
  }
  return instruments;
}

/** The active span when it records (an HTTP server span, a job's span, an LLM-call span). */
export function recordingSpan(api: typeof Api): Api.Span | undefined {
  const span = api.trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}
