import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  StreamableFile,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import { from, type Observable, of } from 'rxjs';
import type { CacheEntry, RecordedEvent } from './cache-entry';
import { assembleCompletion, completionEvents } from './chat-stream.convert';
import type { CacheLlmOptions } from './caching-options.interface';
import { LlmCacheProbeService, type RequestLookup } from './llm-cache.probe';
import { modelOf } from './cache-entry.builder';
import { LlmCacheService } from './llm-cache.service';
import { FlightAbandonedError, type FlightLease } from './single-flight';
import { type HandlerOutput, handlerOutput, recordSse, replaySse } from './sse-stream';

type XCache = 'HIT' | 'MISS' | 'BYPASS' | 'COALESCED';
const JSON_TYPE = 'application/json; charset=utf-8';
// @HttpCode()'s metadata key; the status it sets is applied only after the interceptors run.
const HTTP_CODE_METADATA = '__httpCode__';

function defaultWantsStream(req: Request): boolean {
  const body = req.body as { stream?: unknown } | undefined;
  return body?.stream === true || (req.headers.accept ?? '').includes('text/event-stream');
}

/**
 * The interceptor behind `@CacheLLM()`: answers hits from the cache (the stored JSON sent as
 * is, or replayed as SSE), coalesces identical misses, records streams, and never fails a
 * request because of the cache (a store error is a BYPASS). Usually applied by `@CacheLLM()`.
 *
 * @example
 * @UseInterceptors(LlmCacheInterceptor)
 * @SetMetadata(CACHE_LLM_METADATA, { ttlMs: 60_000 }) // what @CacheLLM({ ttlMs: 60_000 }) does
 */
@Injectable()
export class LlmCacheInterceptor implements NestInterceptor {
  private readonly routes = new WeakMap<object, string>();

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
    const lookup = this.probe.lookup(context.switchToHttp().getRequest<Request>(), options, true);
    // An L1 hit (or the probe's settled lookup) answers without another promise.
    return lookup instanceof Promise
      ? lookup.then((found) => this.decide(context, next, options, found))
      : this.decide(context, next, options, lookup);
  }

  private decide(
    context: ExecutionContext,
    next: CallHandler,
    options: CacheLlmOptions,
    lookup: RequestLookup,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const route = this.routeName(context, req);
    const stream = (options.wantsStream ?? defaultWantsStream)(req);
    if (lookup.entry) {
      this.cache.record('hits', lookup.entry.model, route, lookup.entry);
      return of(this.answer(res, lookup.entry, 'HIT', stream, options));
    }
    return this.miss(context, next, options, lookup, route, stream);
  }

  private async miss(
    context: ExecutionContext,
    next: CallHandler,
    options: CacheLlmOptions,
    lookup: RequestLookup,
    route: string,
    stream: boolean,
  ): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    if (lookup.bypass && lookup.bypass !== 'no-cache') {
      if (lookup.bypass !== 'disabled') this.cache.record('bypassed', modelOf(req.body), route);
      return this.passThrough(next, res, 'BYPASS', stream);
    }
    const hash = lookup.hash as string;
    if (lookup.bypass === 'no-cache') {
      // Refresh: call upstream and overwrite, without waiting on anyone.
      this.cache.record('bypassed', modelOf(req.body), route);
      return this.lead(context, next, options, lookup, undefined, 'BYPASS', stream);
    }
    let flight;
    try {
      flight = await this.cache.flight.enter(hash);
    } catch {
      return this.passThrough(next, res, 'BYPASS', stream);
    }
    if ('follow' in flight) {
      try {
        const entry = await flight.follow;
        this.cache.record('coalesced', entry.model, route, entry);
        return of(this.answer(res, entry, 'COALESCED', stream, options));
      } catch (error) {
        // The leader's client went away mid-stream: this request calls upstream itself.
        if (!(error instanceof FlightAbandonedError)) throw error;
        this.cache.record('misses', modelOf(req.body), route);
        return this.passThrough(next, res, 'MISS', stream);
      }
    }
    this.cache.record('misses', modelOf(req.body), route);
    return this.lead(context, next, options, lookup, flight.lead, 'MISS', stream);
  }

  /** Runs the handler, stores what it returns when cacheable, shares it with the waiters. */
  private async lead(
    context: ExecutionContext,
    next: CallHandler,
    options: CacheLlmOptions,
    lookup: RequestLookup,
    lease: FlightLease | undefined,
    status: XCache,
    wantsStream: boolean,
  ): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    const declared = Reflect.getMetadata(HTTP_CODE_METADATA, context.getHandler()) as unknown;
    const hash = lookup.hash as string;
    const started = Date.now();
    const ttlMs =
      lookup.control.maxAgeS !== undefined && lookup.control.maxAgeS > 0
        ? lookup.control.maxAgeS * 1000
        : options.ttlMs;
    const tags = typeof options.tags === 'function' ? options.tags(req) : options.tags;
    const finish = (entry: CacheEntry | undefined, response: unknown): void => {
      const status = typeof declared === 'number' ? declared : res.statusCode;
      const ok =
        entry !== undefined &&
        status < 300 &&
        res.statusCode < 300 &&
        this.cache.cacheable(response, options);
      if (!entry) {
        void lease?.fail(new FlightAbandonedError()).catch(() => undefined);
        return;
      }
      const settle = lease
        ? lease.settle(entry, ok)
        : ok
          ? this.cache.store.set(hash, entry)
          : Promise.resolve();
      settle.catch((error: unknown) => this.cache.warn('write', hash, error));
    };
    res.setHeader('X-Cache', status);
    let output: HandlerOutput;
    try {
      output = await handlerOutput(next.handle(), wantsStream);
    } catch (error) {
      await lease?.fail(error).catch(() => undefined);
      throw error;
    }
    if ('events' in output) {
      const recorded = recordSse(output.events, (events: RecordedEvent[], clean: boolean) => {
        const completion = clean ? assembleCompletion(events) : undefined;
        const entry = completion
          ? this.cache.toEntry(req.body, completion, Date.now() - started, {
              ttlMs,
              tags,
              usage: options.usage,
              events,
            })
          : undefined;
        finish(entry, completion);
      });
      return of(this.sse(res, recorded));
    }
    const result = output.value;
    const entry = this.cache.toEntry(req.body, result, Date.now() - started, {
      ttlMs,
      tags,
      usage: options.usage,
    });
    finish(entry, result);
    if (!entry) return of(result);
    res.setHeader('Content-Type', JSON_TYPE);
    if (entry.etag) res.setHeader('ETag', entry.etag);
    return of(entry.body);
  }

  private passThrough(
    next: CallHandler,
    res: Response,
    status: XCache,
    wantsStream: boolean,
  ): Observable<unknown> {
    res.setHeader('X-Cache', status);
    return from(
      handlerOutput(next.handle(), wantsStream).then((output) =>
        'events' in output
          ? this.sse(
              res,
              recordSse(output.events, () => undefined),
            )
          : output.value,
      ),
    );
  }

  /** The body of a hit: the stored JSON as is, or the events as SSE. */
  private answer(
    res: Response,
    entry: CacheEntry,
    status: XCache,
    stream: boolean,
    options: CacheLlmOptions,
  ): unknown {
    res.setHeader('X-Cache', status);
    res.setHeader('Age', String(Math.max(0, Math.floor((Date.now() - entry.createdAt) / 1000))));
    res.setHeader('X-Cache-Cost-Saved', entry.costUsd.toFixed(6));
    if (stream) {
      const events = entry.events ?? completionEvents(entry.body);
      return this.sse(res, replaySse(events, options.replay));
    }
    res.setHeader('Content-Type', JSON_TYPE);
    if (entry.etag) res.setHeader('ETag', entry.etag);
    return entry.body;
  }

  private sse(res: Response, events: AsyncIterable<string>): StreamableFile {
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Accel-Buffering', 'no');
    return new StreamableFile(Readable.from(events, { objectMode: false }), {
      type: 'text/event-stream; charset=utf-8',
    });
  }

  private routeName(context: ExecutionContext, req: Request): string {
    const handler = context.getHandler();
    let name = this.routes.get(handler);
    if (name === undefined) {
      const path = (req.route as { path?: unknown } | undefined)?.path;
      name = `${req.method} ${typeof path === 'string' ? path : req.path}`;
      this.routes.set(handler, name);
    }
    return name;
  }
}
