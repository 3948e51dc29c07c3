import type * as Api from '@opentelemetry/api';
import type { LlmUsage } from '../llm/llm-usage';
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
 * The LLM call of one `@CacheLLM` request. A request answered from the cache (HIT,
 * COALESCED, STALE) is one LLM call: its span covers the request's decision. A request whose
 * handler runs (MISS, BYPASS) is one LLM call only when the handler made no call-level LLM
 * call of its own (a wrapped SDK, the AI SDK middleware, `LlmCallService`): those calls have
 * their spans, and the route's outcome goes on the HTTP span instead of a second span for the
 * same call. That is known once the handler answered, so the route's span (and its
 * `llm_kit.upstream` child, the handler's run) are drawn then, from the times they began.
 */
export interface RouteTrace {
  /** Before this request waits on an identical request's flight. */
  waiting(): void;
  /** `next.handle()` made under the route's context (the handler's calls report to it). */
  handle<T>(status: RouteCacheStatus, handle: () => T): T;
  /** A cached answer. */
  served(status: RouteCacheStatus, entry: EntryFacts): void;
  /** The handler's answer (undefined: none worth reading, e.g. a stream given up). */
  end(response?: unknown): void;
  /** The handler's failure (`client`: a 4xx the request caused, no LLM call). */
  fail(error: unknown, client: boolean): void;
}

const NOOP: RouteTrace = {
  waiting: () => undefined,
  handle: (_status, handle) => handle(),
  served: () => undefined,
  end: () => undefined,
  fail: () => undefined,
};

class RouteCall implements RouteTrace {
  private readonly parent: Api.Context;
  private readonly startMs = Date.now();
  private readonly run: RouteRun = { calls: 0 };
  private waitMs?: number;
  private handlerMs?: number;
  private status?: RouteCacheStatus;
  private done = false;

  constructor(
    private readonly api: typeof Api,
    private readonly body: unknown,
    private readonly name: string,
    private readonly usage?: (response: unknown) => LlmUsage | undefined,
  ) {
    this.parent = api.context.active();
  }

  waiting(): void {
    this.waitMs = Date.now();
  }

  handle<T>(status: RouteCacheStatus, handle: () => T): T {
    this.status = status;
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

  end(response?: unknown): void {
    const call = this.handlerCall();
    call?.end(response);
  }

  fail(error: unknown, client: boolean): void {
    if (client) this.done = true;
    this.handlerCall()?.fail(error);
  }

  /** The span of a handler's run, unless its own calls have theirs (then: the HTTP span). */
  private handlerCall(): LlmCall | undefined {
    if (this.done || this.status === undefined) return undefined;
    this.done = true;
    if (this.run.calls > 0) {
      const span = this.api.trace.getSpan(this.parent);
      if (span?.isRecording())
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

  private call(status: RouteCacheStatus, entry?: EntryFacts): LlmCall {
    const call = new LlmCall(
      this.api,
      this.body,
      { site: this.name, usage: this.usage },
      this.parent,
      this.startMs,
    );
    call.setOutcome(OUTCOMES[status], entry);
    return call;
  }
}

/** The trace of one `@CacheLLM` request (a no-op without `@opentelemetry/api`). */
export function startRouteTrace(
  body: unknown,
  name: string,
  usage?: (response: unknown) => LlmUsage | undefined,
): RouteTrace {
  const api = otelInUse();
  return api ? new RouteCall(api, body, name, usage) : NOOP;
}
