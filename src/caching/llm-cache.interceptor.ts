import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  Logger,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request } from 'express';
import type { ServerResponse } from 'node:http';
import { isClientError } from '../common/client-error';
import { rawResponse } from '../common/http-exchange';
import { routeName } from '../common/route-name';
import { catchError, type Observable, of, tap, throwError } from 'rxjs';
import type { CacheEntry, RecordedEvent } from './cache-entry';
import { modelOf } from './cache-entry.builder';
import { type CacheRoute, cacheRoute } from './cache-route';
import type { CacheLlmOptions } from './caching-options.interface';
import { assembleCompletion, completionEvents } from './chat-stream.convert';
import {
  jsonBody,
  prepared,
  removeHeader,
  setHeader,
  sseFile,
  takePrepared,
  upstreamFailed,
  watchClose,
} from './llm-cache.response';
import { LlmCacheProbeService, type RequestLookup } from './llm-cache.probe';
import { LlmCacheService } from './llm-cache.service';
import type { CacheOutcome } from './llm-cache.stats';
import { FlightAbandonedError, type FlightLease, type Joined } from './single-flight';
import { recordMessages, replayMessages } from './sse-route';
import { eventData, handlerOutput, type HandlerOutput, recordSse, replaySse } from './sse-stream';
import { StreamRecorder } from './stream-recorder';
import { type RouteTrace, startRouteTrace } from '../telemetry/route-call.trace';

type XCache = 'HIT' | 'MISS' | 'BYPASS' | 'COALESCED' | 'STALE';
// @HttpCode()'s metadata key; the status it sets is applied only after the interceptors run.
const HTTP_CODE_METADATA = '__httpCode__';

function defaultWantsStream(req: Request): boolean {
  const body = req.body as { stream?: unknown } | undefined;
  return body?.stream === true || (req.headers.accept ?? '').includes('text/event-stream');
}

/** One request through the interceptor. */
interface Call {
  context: ExecutionContext;
  next: CallHandler;
  options: CacheLlmOptions;
  req: Request;
  /** Node's response under the platform's (headers, status, `close`). */
  res: ServerResponse;
  route: CacheRoute;
  /** `<METHOD> <path pattern>`: the default key namespace and the stats' route. */
  name: string;
  /** The content type this request gets whatever the cache state: SSE or JSON. */
  stream: boolean;
  trace: RouteTrace;
}

/** How a handler run ends up: stored (through the lease, or directly) or only sent. */
interface Run {
  lease?: FlightLease;
  status: XCache;
  store: boolean;
  outcome?: CacheOutcome;
}

/**
 * The interceptor behind `@CacheLLM()`: answers hits from the cache (the stored JSON sent as
 * is, replayed as SSE, or replayed through Nest's `@Sse()` path), coalesces identical misses,
 * records streams, and never fails a request because of the cache (a store error is a
 * BYPASS). A request gets one content type whatever the cache state: SSE when it asks for a
 * stream (`wantsStream`) or the route is `@Sse()`, else JSON. Handlers that answer by
 * themselves (`@Res()`) or return bytes (`StreamableFile`) are bypassed with one warning.
 * Usually applied by `@CacheLLM()`.
 *
 * @example
 * @UseInterceptors(LlmCacheInterceptor)
 * @SetMetadata(CACHE_LLM_METADATA, { ttlMs: 60_000 }) // what @CacheLLM({ ttlMs: 60_000 }) does
 */
@Injectable()
export class LlmCacheInterceptor implements NestInterceptor {
  private readonly logger = new Logger('LlmCache');
  /** Routes already warned about (one line per route, bounded by the app's routes). */
  private readonly warned = new Set<string>();

  constructor(
    private readonly cache: LlmCacheService,
    private readonly probe: LlmCacheProbeService,
  ) {}

  intercept(
    context: ExecutionContext,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    const options = this.probe.routeOptions(context);
    if (!options || context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = rawResponse(http.getResponse());
    const route = cacheRoute(context);
    const name = routeName(context, req);
    if (route.respondsItself) {
      this.warnRoute(
        name,
        `takes ${route.respondsItself} and sends the response itself, so there is nothing to cache. Return the completion (or the SDK's stream, an AsyncIterable or an Observable of chunks) instead, or use @Res({ passthrough: true }).`,
      );
      setHeader(res, 'X-Cache', 'BYPASS');
      return next.handle();
    }
    const stream = route.sse || (options.wantsStream ?? defaultWantsStream)(req);
    const trace = startRouteTrace(context, req, 'cache', options.usage);
    const call: Call = { context, next, options, req, res, route, name, stream, trace };
    const lookup = this.probe.lookup(req, options, true, name);
    // An L1 hit (or the probe's settled lookup) answers without another promise.
    return lookup instanceof Promise
      ? lookup.then((found) => this.decide(call, found))
      : this.decide(call, lookup);
  }

  private decide(
    call: Call,
    lookup: RequestLookup,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    if (!lookup.entry) return this.miss(call, lookup);
    this.cache.record('hits', lookup.entry.model, call.name, lookup.entry);
    return this.answer(call, lookup.entry, 'HIT');
  }

  private async miss(call: Call, lookup: RequestLookup): Promise<Observable<unknown>> {
    // The store failed: no entry to read or write, but identical requests of this process
    // still make one handler call (a flight without a Redis lock).
    const failing = lookup.bypass === 'store-error';
    const hash = failing ? this.hashOf(call) : lookup.hash;
    if ((lookup.bypass && !failing && lookup.bypass !== 'no-cache') || hash === undefined) {
      const outcome = lookup.bypass === 'disabled' ? undefined : 'bypassed';
      return this.run(call, lookup, { status: 'BYPASS', store: false, outcome });
    }
    if (lookup.bypass === 'no-cache') {
      // Refresh: call upstream and overwrite, without waiting on anyone.
      return this.run(call, lookup, { status: 'BYPASS', store: true, outcome: 'bypassed' });
    }
    let joined: Joined;
    call.trace.waiting();
    try {
      joined = await this.cache.flight.join(hash, failing, takePrepared(call.req));
    } catch (error) {
      // The leader's upstream failed: the same failure here.
      if (this.servesStale(call, lookup, error)) return this.answer(call, lookup.stale!, 'STALE');
      throw error;
    }
    if ('entry' in joined) {
      this.cache.record('coalesced', joined.entry.model, call.name, joined.entry);
      return this.answer(call, joined.entry, 'COALESCED');
    }
    return this.run(
      call,
      { ...lookup, hash },
      {
        lease: 'lead' in joined ? joined.lead : undefined,
        status: failing ? 'BYPASS' : 'MISS',
        store: !failing,
        outcome: failing ? 'bypassed' : 'misses',
      },
    );
  }

  /** The key of a request whose lookup failed (the lookup keeps none), or undefined. */
  private hashOf({ req, options, name }: Call): string | undefined {
    try {
      const partition = this.cache.partitionOf({
        req,
        scope: options.scope ?? this.cache.options.scope,
      });
      if (partition === undefined) return undefined;
      const params = options.params ? options.params(req) : req.body;
      return this.cache.hashOf(params, partition, { namespace: name, ...options });
    } catch {
      return undefined;
    }
  }

  /**
   * Nest commits an `@Sse()` route's headers one macrotask after the interceptors are
   * subscribed, before a Redis lookup or lock returns. For such routes `LlmCacheSseGuard`
   * runs this first: the lookup, the flight, and a follower's wait, so that the interceptor
   * decides (and sets `X-Cache`) without waiting on anything.
   */
  async prepare(context: ExecutionContext): Promise<void> {
    const options = this.probe.routeOptions(context);
    if (!options || context.getType() !== 'http' || !cacheRoute(context).sse) return;
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const lookup = await this.probe.lookup(req, options, true, routeName(context, req));
    if (lookup.entry || lookup.bypass || lookup.hash === undefined) return;
    const flight = await this.cache.flight.enter(lookup.hash);
    if ('follow' in flight) await flight.follow.catch(() => undefined);
    else watchClose(rawResponse(http.getResponse()), flight.lead);
    prepared(req, flight);
  }

  /**
   * Runs the handler and answers with what it returned, in the request's content type;
   * stores it when `run.store` and it is cacheable, and settles the lease on every path.
   */
  private async run(call: Call, lookup: RequestLookup, run: Run): Promise<Observable<unknown>> {
    const { req, res, options } = call;
    const { lease } = run;
    const started = Date.now();
    // Stops reading the handler's stream once it is known (for a client gone before it started).
    const reading: { cancel?: () => void } = {};
    let counted = false;
    // Counted once the handler ran: a request its pipes (or validation) rejected is no miss.
    const count = (error?: unknown): void => {
      // The cache never handled a request refused before its handler ran: no X-Cache on it.
      if (error !== undefined && isClientError(error, req)) removeHeader(res, 'X-Cache');
      if (counted || !run.outcome || (error !== undefined && isClientError(error, req))) return;
      counted = true;
      this.cache.record(run.outcome, modelOf(req.body), call.name);
    };
    const abandon = (): void => {
      call.trace.end();
      void lease?.fail(new FlightAbandonedError()).catch(() => undefined);
    };
    if (lease) watchClose(res, lease, () => reading.cancel?.());
    const finish = (response: unknown, events?: RecordedEvent[]): CacheEntry | undefined => {
      call.trace.end(response);
      const entry = this.cache.toEntry(req.body, response, Date.now() - started, {
        ttlMs: this.ttlMs(call, lookup),
        tags: typeof options.tags === 'function' ? options.tags(req) : options.tags,
        usage: options.usage,
        events,
        staleIfErrorMs: options.staleIfErrorMs,
      });
      if (!entry) {
        abandon();
        return undefined;
      }
      const store = run.store && lookup.hash !== undefined && this.storable(call, response);
      const hash = lookup.hash as string;
      const settle = lease
        ? lease.settle(entry, store)
        : store
          ? this.cache.store.set(hash, entry)
          : Promise.resolve();
      settle.catch((error: unknown) => this.cache.warn('write', lookup.hash, error));
      return entry;
    };
    setHeader(res, 'X-Cache', run.status);
    if (call.route.sse) {
      let emitted = false;
      const handled = call.trace.handle(run.status, () => call.next.handle());
      const recorded = recordMessages(handled, (events, clean) => {
        if (!clean || events.length === 0) return abandon();
        const assembled = assembleCompletion(events);
        finish(assembled ?? events.map((event) => event.data).join('\n'), events);
      });
      return recorded.pipe(
        tap(() => {
          emitted = true;
          count();
        }),
        catchError((error: unknown) => {
          count(error);
          if (!emitted && this.servesStale(call, lookup, error))
            return this.answer(call, lookup.stale!, 'STALE');
          call.trace.fail(error, isClientError(error, req));
          return throwError(() => error);
        }),
      );
    }
    let output: HandlerOutput;
    try {
      output = await call.trace.handle(run.status, () =>
        handlerOutput(call.next.handle(), call.stream),
      );
    } catch (error) {
      count(error);
      await lease?.fail(error).catch(() => undefined);
      if (this.servesStale(call, lookup, error)) return this.answer(call, lookup.stale!, 'STALE');
      call.trace.fail(error, isClientError(error, req));
      throw error;
    }
    count();
    if ('bytes' in output) {
      abandon();
      this.warnRoute(
        call.name,
        'returns bytes (a StreamableFile, a stream or a Buffer), not an LLM response, so it is not cached. Return the completion (or the SDK stream, an AsyncIterable or an Observable of chunks) instead.',
      );
      setHeader(res, 'X-Cache', 'BYPASS');
      return of(output.bytes);
    }
    if (res.headersSent) {
      // The handler answered by itself (a passthrough response it sent): nothing to add.
      abandon();
      if ('events' in output) output.cancel();
      return of('value' in output ? output.value : undefined);
    }
    if ('value' in output) {
      const entry = finish(output.value);
      if (!entry) return of(output.value);
      return of(
        call.stream ? sseFile(res, replaySse(completionEvents(entry.body))) : jsonBody(res, entry),
      );
    }
    reading.cancel = output.cancel;
    if (call.stream) {
      const recorded = recordSse(output.events, (events, clean) => {
        const completion = clean ? assembleCompletion(events) : undefined;
        if (completion) finish(completion, events);
        else abandon();
      });
      return of(sseFile(res, recorded));
    }
    return this.assemble(call, lookup, output.events, finish, abandon);
  }

  /** A JSON request to a streaming handler: read the stream, answer the completion it adds up to. */
  private async assemble(
    call: Call,
    lookup: RequestLookup,
    source: AsyncIterable<unknown>,
    finish: (response: unknown, events: RecordedEvent[]) => CacheEntry | undefined,
    abandon: () => void,
  ): Promise<Observable<unknown>> {
    let events: RecordedEvent[] = [];
    const recorder = new StreamRecorder<unknown>(eventData, (recording) => {
      events = recording.events;
    });
    let last: unknown;
    try {
      for await (const chunk of recorder.record(source)) last = chunk;
    } catch (error) {
      call.trace.fail(error, false);
      abandon();
      if (this.servesStale(call, lookup, error)) return this.answer(call, lookup.stale!, 'STALE');
      throw error;
    }
    const completion = assembleCompletion(events);
    if (!completion) {
      // Not chat chunks: what Nest sends for an Observable (its last value), not cached.
      abandon();
      return of(last);
    }
    const entry = finish(completion, events);
    return of(entry ? jsonBody(call.res, entry) : completion);
  }

  /** The body of a cached answer, in the request's content type. */
  private answer(call: Call, entry: CacheEntry, status: XCache): Observable<unknown> {
    const { res, options } = call;
    call.trace.served(status, entry);
    setHeader(res, 'X-Cache', status);
    setHeader(res, 'Age', String(Math.max(0, Math.floor((Date.now() - entry.createdAt) / 1000))));
    setHeader(res, 'X-Cache-Cost-Saved', entry.costUsd.toFixed(6));
    if (!call.stream) return of(jsonBody(res, entry));
    const events = entry.events ?? completionEvents(entry.body);
    if (call.route.sse) return replayMessages(events, options.replay);
    return of(sseFile(res, replaySse(events, options.replay)));
  }

  /** Whether a failed handler is answered from an expired entry kept for `staleIfErrorMs`. */
  private servesStale(call: Call, lookup: RequestLookup, error: unknown): boolean {
    return (
      lookup.stale !== undefined &&
      (call.options.staleIfErrorMs ?? 0) > 0 &&
      !call.res.headersSent &&
      upstreamFailed(error, call.req)
    );
  }

  private storable(call: Call, response: unknown): boolean {
    const declared = Reflect.getMetadata(HTTP_CODE_METADATA, call.context.getHandler()) as unknown;
    const status = typeof declared === 'number' ? declared : call.res.statusCode;
    return (
      status < 300 && call.res.statusCode < 300 && this.cache.cacheable(response, call.options)
    );
  }

  private ttlMs(call: Call, lookup: RequestLookup): number | undefined {
    const maxAgeS = lookup.control.maxAgeS;
    return maxAgeS !== undefined && maxAgeS > 0 ? maxAgeS * 1000 : call.options.ttlMs;
  }

  private warnRoute(name: string, why: string): void {
    if (this.warned.has(name)) return;
    this.warned.add(name);
    this.logger.warn(`@CacheLLM on ${name} is bypassed (X-Cache: BYPASS): the handler ${why}`);
  }
}
