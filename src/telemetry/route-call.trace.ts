import type { ExecutionContext } from '@nestjs/common';
import type * as Api from '@opentelemetry/api';
import type { Request } from 'express';
import { isObject } from '../common/is-object';
import { routeName } from '../common/route-name';
import type { LlmUsage } from '../llm/llm-usage';
import type { ResponseFacts } from './genai-attributes';
import {
  type EntryFacts,
  LlmCall,
  ROUTE_KEY,
  type RouteRun,
  type TraceOutcome,
} from './llm-call.span';
import { otelInUse } from './otel-api';

/** A `@CacheLLM` request's `X-Cache` status. */
export type RouteCacheStatus = 'HIT' | 'MISS' | 'BYPASS' | 'COALESCED' | 'STALE';

const OUTCOMES: Record<RouteCacheStatus, TraceOutcome> = {
  HIT: 'hit',
  MISS: 'miss',
  BYPASS: 'bypass',
  COALESCED: 'coalesced',
  STALE: 'stale',
};

/**
 * The LLM call of one `@CacheLLM` or `@LLMThrottle` request. A request answered from the cache
 * (HIT, COALESCED, STALE) is one LLM call: its span covers the request's decision. A request
 * whose handler runs (MISS, BYPASS, or an `@LLMThrottle` route without `@CacheLLM`) is one LLM
 * call only when the handler made no call-level LLM call of its own (a wrapped SDK, the AI SDK
 * middleware, `LlmCallService`): those calls have their spans, and a cached route's outcome goes
 * on the HTTP span instead of a second span for the same call. That is known once the handler
 * answered, so the route's span (and its `llm_kit.upstream` child, the handler's run) are drawn
 * then, from the times they began.
 *
 * One span per request: a route with both decorators gets the cache's (it knows the outcome).
 * Both interceptors trace the request, sharing one `RouteRun` through the context whichever
 * runs first; the cache's marks it, and the throttle's draws nothing on a marked run.
 */
export interface RouteTrace {
  /** False for the no-op trace (no provider registered): nothing to read or draw. */
  readonly active: boolean;
  /** Before this request waits on an identical request's flight. */
  waiting(): void;
  /**
   * `next.handle()` made under the route's context (the handler's calls report to it); `status`:
   * the cache's decision, none on an `@LLMThrottle` route's run.
   */
  handle<T>(status: RouteCacheStatus | undefined, handle: () => T): T;
  /** A cached answer. */
  served(status: RouteCacheStatus, entry: EntryFacts): void;
  /**
   * The handler's answer (undefined: none worth reading, e.g. a stream given up), or `facts`
   * read from its stream.
   */
  end(response?: unknown, facts?: ResponseFacts): void;
  /** The handler's failure (`client`: a 4xx the request caused, no LLM call). */
  fail(error: unknown, client: boolean): void;
}

/** Which interceptor traces a route: `@CacheLLM`'s, or `@LLMThrottle`'s (`BudgetSettleInterceptor`). */
export type RouteTracer = 'cache' | 'budget';

const NOOP: RouteTrace = {
  active: false,
  waiting: () => undefined,
  handle: (_status, handle) => handle(),
  served: () => undefined,
  end: () => undefined,
  fail: () => undefined,
};

class RouteCall implements RouteTrace {
  readonly active = true;
  private readonly parent: Api.Context;
  private readonly startMs = Date.now();
  private readonly run: RouteRun;
  private waitMs?: number;
  private handlerMs?: number;
  private status?: RouteCacheStatus;
  private handled = false;
  private done = false;

  constructor(
    private readonly api: typeof Api,
    private readonly params: unknown,
    private readonly name: string,
    private readonly tracer: RouteTracer,
    private readonly usage?: (response: unknown) => LlmUsage | undefined,
  ) {
    this.parent = api.context.active();
    // The other interceptor of the route, when it runs first, left its run in the context.
    this.run = (this.parent.getValue(ROUTE_KEY) as RouteRun | undefined) ?? { calls: 0 };
    if (tracer === 'cache') this.run.cached = true;
  }

  waiting(): void {
    this.waitMs = Date.now();
  }

  handle<T>(status: RouteCacheStatus | undefined, handle: () => T): T {
    this.status = status;
    this.handled = true;
    this.handlerMs = Date.now();
    return this.api.context.with(this.parent.setValue(ROUTE_KEY, this.run), handle);
  }

  served(status: RouteCacheStatus, entry: EntryFacts): void {
    if (this.done) return;
    this.done = true;
    const call = this.call(status, entry);
    // STALE: the handler ran and failed; its run is the upstream call.
    if (this.handlerMs !== undefined) call.drawUpstream(this.handlerMs);
    if (status === 'COALESCED') call.coalescedWait(this.waitMs ?? this.startMs);
    call.end();
  }

  end(response?: unknown, facts?: ResponseFacts): void {
    this.handlerCall()?.end(response, facts);
  }

  fail(error: unknown, client: boolean): void {
    if (client) this.done = true;
    this.handlerCall()?.fail(error);
  }

  /** The span of a handler's run, unless its own calls have theirs (then: the HTTP span). */
  private handlerCall(): LlmCall | undefined {
    if (this.done || !this.handled) return undefined;
    this.done = true;
    // A route with both decorators: the cache's trace draws its span.
    if (this.tracer === 'budget' && this.run.cached) return undefined;
    if (this.run.calls > 0) {
      const span = this.api.trace.getSpan(this.parent);
      if (this.status && span?.isRecording())
        span.setAttributes({
          'llm_kit.cache.outcome': OUTCOMES[this.status],
          'llm_kit.call_site': this.name,
        });
      return undefined;
    }
    const call = this.call(this.status);
    call.drawUpstream(this.handlerMs ?? this.startMs);
    return call;
  }

  private call(status: RouteCacheStatus | undefined, entry?: EntryFacts): LlmCall {
    const call = new LlmCall(
      this.api,
      this.params,
      { site: this.name, usage: this.usage },
      this.parent,
      this.startMs,
    );
    if (status) call.setOutcome(OUTCOMES[status], entry);
    return call;
  }
}

/**
 * A route's LLM parameters: its body, or, for a request without one (a `GET`, e.g. an `@Sse()`
 * route keyed on its query), its query.
 */
function routeParams(req: Request): unknown {
  const hasKeys = (value: unknown) => isObject(value) && Object.keys(value).length > 0;
  return hasKeys(req.body) || !hasKeys(req.query) ? req.body : req.query;
}

/**
 * The trace of one `@CacheLLM` or `@LLMThrottle` request (a no-op without `@opentelemetry/api`):
 * its request attributes read from the request's body, else its query; its call site the
 * route's name.
 */
export function startRouteTrace(
  context: ExecutionContext,
  req: Request,
  tracer: RouteTracer,
  usage?: (response: unknown) => LlmUsage | undefined,
): RouteTrace {
  const api = otelInUse();
  if (!api) return NOOP;
  return new RouteCall(api, routeParams(req), routeName(context, req), tracer, usage);
}
