import {
  type CallHandler,
  type ExecutionContext,
  HttpException,
  HttpStatus,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { ServerResponse } from 'node:http';
import { rawResponse, sendEtag } from '../common/http-exchange';
import { catchError, from, lastValueFrom, type Observable, of, throwError } from 'rxjs';
import { digest } from '../redis/redis-keys';
import { type CacheEntry, isFresh } from './cache-entry';
import { ApiUpstreamError } from './caching.errors';
import { setHeader, upstreamFailed } from './llm-cache.response';
import { cacheKeyHash } from './cache-key';
import { cachePartition } from './cache-partition';
import { CACHE_API_METADATA } from './caching.constants';
import type { CacheApiOptions } from './caching-options.interface';
import { DEFAULT_API_TTL_MS, DEFAULT_API_VARY } from './api-cache.client';
import { LlmCacheService } from './llm-cache.service';

const JSON_TYPE = 'application/json; charset=utf-8';

/** The 502 of an unreachable upstream: problem+json naming its host (not its path or query). */
function badGateway(res: ServerResponse, error: ApiUpstreamError): HttpException {
  setHeader(res, 'Content-Type', 'application/problem+json');
  return new HttpException(
    {
      type: 'about:blank',
      title: 'Bad Gateway',
      status: 502,
      detail: error.message,
      upstream: error.host,
    },
    HttpStatus.BAD_GATEWAY,
  );
}

/**
 * The interceptor behind `@CacheApi()`: caches a GET route's JSON by URL and vary headers,
 * sends a strong `ETag`, and lets a client's matching `If-None-Match` get a 304 with no body
 * (Express's freshness check compares it with the ETag we set; on Fastify, CachingModule's
 * `onSend` hook does). When the handler fails with the upstream (`ApiUpstreamError`, a 5xx), a stale
 * entry within `staleIfErrorMs` answers (`X-Cache: STALE`); else an unreachable upstream is a
 * 502 `application/problem+json` naming its host. Usually applied by `@CacheApi()`.
 *
 * @example
 * @Get('repos/:owner/:repo')
 * @CacheApi({ ttlMs: 60_000 }) // sets the options and binds ApiCacheInterceptor
 */
@Injectable()
export class ApiCacheInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly cache: LlmCacheService,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const options = this.reflector.getAllAndOverride<CacheApiOptions | undefined>(
      CACHE_API_METADATA,
      [context.getHandler(), context.getClass()],
    );
    const req = context.switchToHttp().getRequest<Request>();
    const res = rawResponse(context.switchToHttp().getResponse());
    if (!options) return next.handle();
    if (req.method !== 'GET' || !this.cache.options.enabled) return this.upstream(next, res);
    const partition = cachePartition(
      options.scope ?? 'global',
      req,
      this.cache.options.partitionSecret,
    );
    if (partition === undefined) return this.bypass(next, res);
    const vary = (options.vary ?? DEFAULT_API_VARY).map(
      (name) => req.headers[name.toLowerCase()] ?? '',
    );
    const hash = cacheKeyHash({ kind: 'api-route', url: req.originalUrl, vary }, partition);
    let cached: CacheEntry | undefined;
    try {
      cached = await this.cache.store.get(hash);
    } catch (error) {
      this.cache.warn('read', hash, error);
      return this.bypass(next, res);
    }
    if (cached && isFresh(cached)) return of(this.send(res, cached, 'HIT'));
    const stale = cached;
    setHeader(res, 'X-Cache', 'MISS');
    const staleIfErrorMs = options.staleIfErrorMs ?? 0;
    return from(
      lastValueFrom(next.handle(), { defaultValue: undefined }).then(
        async (result) => {
          const body = JSON.stringify(result);
          if (body === undefined || res.statusCode >= 300) return result;
          const now = Date.now();
          const entry: CacheEntry = {
            body,
            status: 200,
            createdAt: now,
            expiresAt: now + (options.ttlMs ?? DEFAULT_API_TTL_MS) + staleIfErrorMs,
            ...(staleIfErrorMs > 0
              ? { freshUntil: now + (options.ttlMs ?? DEFAULT_API_TTL_MS) }
              : {}),
            model: 'api',
            usage: { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, estimated: false },
            latencyMs: 0,
            costUsd: 0,
            exact: true,
            etag: `"${digest(body, 32)}"`,
          };
          await this.cache.store
            .set(hash, entry)
            .catch((error: unknown) => this.cache.warn('write', hash, error));
          return this.send(res, entry);
        },
        (error: unknown) => {
          if (stale && staleIfErrorMs > 0 && !res.headersSent && upstreamFailed(error, req))
            return this.send(res, stale, 'STALE');
          throw error instanceof ApiUpstreamError ? badGateway(res, error) : error;
        },
      ),
    );
  }

  private send(res: ServerResponse, entry: CacheEntry, status?: 'HIT' | 'STALE'): string {
    if (status) {
      setHeader(res, 'X-Cache', status);
      setHeader(res, 'Age', String(Math.max(0, Math.floor((Date.now() - entry.createdAt) / 1000))));
    }
    if (entry.etag) sendEtag(res, entry.etag);
    setHeader(res, 'Content-Type', JSON_TYPE);
    return entry.body;
  }

  private bypass(next: CallHandler, res: ServerResponse): Observable<unknown> {
    setHeader(res, 'X-Cache', 'BYPASS');
    return this.upstream(next, res);
  }

  /** The handler's answer, with an unreachable upstream as a 502. */
  private upstream(next: CallHandler, res: ServerResponse): Observable<unknown> {
    return next
      .handle()
      .pipe(
        catchError((error: unknown) =>
          throwError(() => (error instanceof ApiUpstreamError ? badGateway(res, error) : error)),
        ),
      );
  }
}
