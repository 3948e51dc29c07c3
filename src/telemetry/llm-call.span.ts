import type * as Api from '@opentelemetry/api';
import type { LlmUsage } from '../llm/llm-usage';
import {
  capturesContent,
  errorType,
  inputMessages,
  metricAttributes,
  outputMessages,
  type RequestAttributes,
  requestAttributes,
  responseAttributes,
  type ResponseFacts,
  responseFacts,
  spanName,
} from './genai-attributes';
import { kitInstruments, kitTracer, otelInUse } from './otel-api';

/** A cache outcome as the spans and metrics name it. */
export type TraceOutcome = 'hit' | 'miss' | 'coalesced' | 'bypass' | 'stale';

/** What the spans read of a cache entry (a `CacheEntry` fits). */
export interface EntryFacts {
  createdAt: number;
  costUsd: number;
  model?: string;
}

/** What a call site tells its LLM-call span. */
export interface CallInfo {
  /** Call-site name (`llm_kit.call_site`). */
  site?: string;
  /** The call site's usage reader, as the cache uses it. */
  usage?: (response: unknown) => LlmUsage | undefined;
}

/** The context key of the LLM call whose flow is running (call level). */
const CALL_KEY = Symbol.for('nestjs-llm-kit.llm-call');
/** The context key a `@CacheLLM` route's handler runs under: counts the wrapped calls it makes. */
export const ROUTE_KEY = Symbol.for('nestjs-llm-kit.route-call');

/**
 * A route's handler run: how many LLM calls of their own (wrapped, call level) it made, and
 * whether `@CacheLLM` traces it (then `@LLMThrottle`'s interceptor leaves the span to it). Shared
 * by the route's traces, whatever order their interceptors run in.
 */
export interface RouteRun {
  calls: number;
  cached?: boolean;
}

const toSeconds = (ms: number): number => ms / 1000;

/**
 * One LLM call's span (CLIENT, `{operation} {model}`, a child of the span active where the
 * call started) and its metrics. The span may start in the past (a route's call, traced once
 * its handler answered) and its upstream child may be live (call level) or drawn afterwards.
 * Ends once: `end` with the response, or `fail` with the error.
 */
export class LlmCall {
  readonly span: Api.Span;
  readonly context: Api.Context;
  private readonly request: RequestAttributes;
  private outcome?: TraceOutcome;
  private upstreamSpan?: Api.Span;
  private upstream = false;
  private ended = false;

  constructor(
    private readonly api: typeof Api,
    private readonly params: unknown,
    private readonly info: CallInfo,
    parent: Api.Context = api.context.active(),
    private readonly startMs = Date.now(),
  ) {
    this.request = requestAttributes(params);
    this.span = kitTracer(api).startSpan(
      spanName(this.request),
      {
        kind: api.SpanKind.CLIENT,
        startTime: startMs,
        attributes: { ...this.request, 'llm_kit.call_site': info.site },
      },
      parent,
    );
    this.context = api.trace.setSpan(parent, this.span).setValue(CALL_KEY, this);
    if (this.span.isRecording() && capturesContent()) {
      const input = inputMessages(params);
      if (input) this.span.setAttribute('gen_ai.input.messages', input);
    }
  }

  /** Runs `fn` with this call's span active (children, the ledger's attributes, events). */
  within<T>(fn: () => T): T {
    return this.api.context.with(this.context, fn);
  }

  /** The cache's decision for this call; a hit or coalesced call also what it saved. */
  setOutcome(outcome: TraceOutcome, entry?: EntryFacts): void {
    this.outcome = outcome;
    this.span.setAttribute('llm_kit.cache.outcome', outcome);
    if (!entry || outcome === 'miss' || outcome === 'bypass') return;
    if (entry.model) this.span.setAttribute('gen_ai.response.model', entry.model);
    this.span.setAttributes({
      'llm_kit.cache.age_ms': Math.max(0, Date.now() - entry.createdAt),
      'llm_kit.cache.saved_usd': entry.costUsd,
    });
  }

  /** A child span (INTERNAL) for the time this caller waited on another's flight. */
  coalescedWait(fromMs: number): void {
    kitTracer(this.api)
      .startSpan(
        'llm_kit.coalesced_wait',
        { kind: this.api.SpanKind.INTERNAL, startTime: fromMs },
        this.context,
      )
      .end();
  }

  /**
   * Runs the upstream call under its child span (CLIENT, `llm_kit.upstream`). The span ends
   * when `fn` settles, or, with `open` (a stream), when the call ends.
   */
  async callUpstream<T>(fn: () => Promise<T> | T, open = false): Promise<T> {
    const span = this.startUpstream();
    try {
      const result = await this.api.context.with(this.api.trace.setSpan(this.context, span), fn);
      if (!open) span.end();
      return result;
    } catch (error) {
      this.recordError(span, error);
      span.end();
      throw error;
    }
  }

  /** The upstream child span of a call traced afterwards: from `fromMs` to now. */
  drawUpstream(fromMs: number): void {
    this.startUpstream(fromMs);
  }

  private startUpstream(startTime = Date.now()): Api.Span {
    this.upstream = true;
    return (this.upstreamSpan = kitTracer(this.api).startSpan(
      'llm_kit.upstream',
      {
        kind: this.api.SpanKind.CLIENT,
        startTime,
        attributes: {
          'gen_ai.provider.name': this.request['gen_ai.provider.name'],
          'gen_ai.request.model': this.request['gen_ai.request.model'],
        },
      },
      this.context,
    ));
  }

  /**
   * Ends the call with its response (undefined: none, e.g. a stream given up), or with `facts`
   * read elsewhere (a stream's, metered chunk by chunk).
   */
  end(
    response?: unknown,
    facts: ResponseFacts = response === undefined ? {} : responseFacts(response, this.info.usage),
  ): void {
    if (this.ended) return;
    this.ended = true;
    const attributes = metricAttributes(this.request, facts.model);
    if (this.span.isRecording()) {
      this.span.setAttributes(responseAttributes(facts, this.upstream));
      if (response !== undefined && capturesContent()) {
        const output = outputMessages(response);
        if (output) this.span.setAttribute('gen_ai.output.messages', output);
      }
    }
    const instruments = kitInstruments(this.api);
    if (this.upstream && facts.usage) {
      const { inputTokens, cachedInputTokens, outputTokens } = facts.usage;
      instruments.tokenUsage.record(inputTokens + cachedInputTokens, {
        ...attributes,
        'gen_ai.token.type': 'input',
      });
      instruments.tokenUsage.record(outputTokens, {
        ...attributes,
        'gen_ai.token.type': 'output',
      });
    }
    this.finish(attributes);
  }

  /** Ends the call with its error: recorded as the conventions say. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.recordError(this.span, error);
    this.finish({ ...metricAttributes(this.request), 'error.type': errorType(error) });
  }

  private finish(attributes: Api.Attributes): void {
    const now = Date.now();
    if (this.upstreamSpan?.isRecording()) this.upstreamSpan.end(now);
    this.span.end(now);
    if (this.outcome) attributes['llm_kit.cache.outcome'] = this.outcome;
    kitInstruments(this.api).duration.record(toSeconds(now - this.startMs), attributes);
  }

  private recordError(span: Api.Span, error: unknown): void {
    if (!span.isRecording()) return;
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({
      code: this.api.SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : undefined,
    });
    span.setAttribute('error.type', errorType(error));
  }
}

/**
 * Starts the span of a call-level LLM call (wrapped SDKs, AI SDK middleware, `LlmCallService`,
 * `LlmCacheService.wrap`), or returns undefined without `@opentelemetry/api`. Inside a
 * `@CacheLLM` route's handler it also tells the route it made a call of its own.
 */
export function startLlmCall(params: unknown, info: CallInfo): LlmCall | undefined {
  const api = otelInUse();
  if (!api) return undefined;
  const route = api.context.active().getValue(ROUTE_KEY) as RouteRun | undefined;
  if (route) route.calls += 1;
  return new LlmCall(api, params, info);
}

/** The LLM call whose flow is running here, if any. */
export function currentLlmCall(api: typeof Api): LlmCall | undefined {
  return api.context.active().getValue(CALL_KEY) as LlmCall | undefined;
}
