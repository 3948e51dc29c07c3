import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { from, lastValueFrom, type Observable, of } from 'rxjs';
import { digest } from '../redis/redis-keys';
import type { CacheEntry } from './cache-entry';
import { cacheKeyHash } from './cache-key';
import { cachePartition } from './cache-partition';
import { CACHE_API_METADATA } from './caching.constants';
import type { CacheApiOptions } from './caching-options.interface';
import { DEFAULT_API_TTL_MS, DEFAULT_API_VARY } from './api-cache.client';
import { LlmCacheService } from './llm-cache.service';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The interceptor behind `@CacheApi()`: caches a GET route's JSON by URL and vary headers,
 * sends a strong `ETag`, and lets a client's matching `If-None-Match` get a 304 with no body
 * (Express's freshness check compares it with the ETag we set). Usually applied by `@CacheApi()`.
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
    const res = context.switchToHttp().getResponse<Response>();
    if (!options || req.method !== 'GET' || !this.cache.options.enabled) return next.handle();
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
    if (cached) {
      res.setHeader('X-Cache', 'HIT');
      res.setHeader('Age', String(Math.floor((Date.now() - cached.createdAt) / 1000)));
      return of(this.send(res, cached));
    }
    res.setHeader('X-Cache', 'MISS');
    return from(
      lastValueFrom(next.handle(), { defaultValue: undefined }).then(async (result) => {
        const body = JSON.stringify(result);
        if (body === undefined || res.statusCode >= 300) return result;
        const now = Date.now();
        const entry: CacheEntry = {
          body,
          status: 200,
          createdAt: now,
          expiresAt: now + (options.ttlMs ?? DEFAULT_API_TTL_MS),
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
      }),
    );
  }

  private send(res: Response, entry: CacheEntry): string {
    if (entry.etag) res.setHeader('ETag', entry.etag);
    res.setHeader('Content-Type', JSON_TYPE);
    return entry.body;
  }

  private bypass(next: CallHandler, res: Response): Observable<unknown> {
    res.setHeader('X-Cache', 'BYPASS');
    return next.handle();
  }
}
