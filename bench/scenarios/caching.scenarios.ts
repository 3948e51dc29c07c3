import { CacheInterceptor, CacheModule } from '@nestjs/cache-manager';
import KeyvRedis from '@keyv/redis';
import { Body, Controller, Get, HttpCode, Module, Post, UseInterceptors } from '@nestjs/common';
import Keyv from 'keyv';
import { performance } from 'node:perf_hooks';
import {
  CacheLLM,
  CachingModule,
  type CachingModuleOptions,
  DEFAULT_KEY_DENY_LIST,
  REDIS_CLIENT,
  RedisModule,
  type RedisConnection,
} from '../../src';
import { cacheKeyHash } from '../../src/caching/cache-key';
import { benchRedis, listen, PAYLOAD } from '../bench-app';
import type { BenchContext, BenchTarget, Scenario } from '../scenario';

const SECRET = 'bench-partition-secret-0123456789abcdef';
const BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'What does a cache save?' }],
  temperature: 0,
});

@Controller()
class CachedLlmController {
  @Post('generate')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  generate(@Body() _body: unknown) {
    return PAYLOAD;
  }

  /** The row's bare route: the same app and body, no @CacheLLM. */
  @Post('bare')
  @HttpCode(200)
  bare(@Body() _body: unknown) {
    return PAYLOAD;
  }
}

// The same hit path without a body to parse, to compare with the GET baseline and with
// CacheInterceptor (GET only) like for like: one route in the app, the same URL.
@Controller()
class CachedLlmGetController {
  @Get('payload')
  @CacheLLM({ scope: 'global', params: (req) => req.query })
  generateGet() {
    return PAYLOAD;
  }

  /** The row's bare route: the same app and query string, no @CacheLLM. */
  @Get('bare')
  bare() {
    return PAYLOAD;
  }
}

@Controller()
class BarePostController {
  @Post('generate')
  @HttpCode(200)
  generate(@Body() _body: unknown) {
    return PAYLOAD;
  }
}

@Module({ controllers: [BarePostController] })
class BarePostModule {}

@Module({})
class CachedLlmModule {
  static register(options: CachingModuleOptions, redisUrl?: string, get = false) {
    return {
      module: CachedLlmModule,
      imports: [
        ...(redisUrl ? [RedisModule.forRoot(benchRedis(redisUrl))] : []),
        CachingModule.forRoot({ partitionSecret: SECRET, keyPrefix: 'bench:llm', ...options }),
      ],
      controllers: [get ? CachedLlmGetController : CachedLlmController],
    };
  }
}

/** `@keyv/redis` on the shared client; `disconnect` must not close the client it does not own. */
class SharedKeyvRedis extends KeyvRedis<unknown> {
  override async disconnect(): Promise<void> {}
}

@Controller()
class CacheManagerController {
  @Get('payload')
  @UseInterceptors(CacheInterceptor)
  payload() {
    return PAYLOAD;
  }
}

@Module({})
class CacheManagerModule {
  /** CacheInterceptor over cache-manager's default store (Keyv in memory). */
  static inMemory() {
    return {
      module: CacheManagerModule,
      imports: [CacheModule.register({ ttl: 3_600_000 })],
      controllers: [CacheManagerController],
    };
  }

  static register(redisUrl: string) {
    return {
      module: CacheManagerModule,
      imports: [
        RedisModule.forRoot(benchRedis(redisUrl)),
        CacheModule.registerAsync({
          inject: [REDIS_CLIENT],
          useFactory: (redis: RedisConnection) => ({
            ttl: 3_600_000,
            stores: [
              // Keyv's CommonJS and ESM typings differ; the object is the same at run time.
              new Keyv({
                store: new SharedKeyvRedis(redis as never),
                namespace: 'bench:cm',
              }) as never,
            ],
          }),
        }),
      ],
      controllers: [CacheManagerController],
    };
  }
}

/** Prints how long the key of a 100 KB body takes (a timing, not a test). */
function measureKeyComputation(): void {
  const body = {
    model: 'gpt-4o-mini',
    messages: Array.from({ length: 50 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `message ${i} `.repeat(170),
    })),
    temperature: 0.2,
  };
  const size = JSON.stringify(body).length;
  for (let i = 0; i < 50; i++) cacheKeyHash(body, 'global', { deny: DEFAULT_KEY_DENY_LIST });
  const runs = 500;
  const started = performance.now();
  for (let i = 0; i < runs; i++) cacheKeyHash(body, 'global', { deny: DEFAULT_KEY_DENY_LIST });
  const perKeyMs = (performance.now() - started) / runs;
  process.stderr.write(
    `key computation: ${(size / 1024).toFixed(0)} KB body -> ${perKeyMs.toFixed(3)} ms per key (mean of ${runs})\n`,
  );
}

// The GET rows, ours and CacheInterceptor's, send the same URL (CacheInterceptor keys by it).
const QUERY = '?model=gpt-4o-mini&prompt=What%20does%20a%20cache%20save%3F';
const GET_PATH = `/payload${QUERY}`;

const llm = (options: CachingModuleOptions, redis: boolean) => (ctx: BenchContext) =>
  listen(
    CachedLlmModule.register(options, redis ? ctx.redisUrl : undefined, true),
    { path: GET_PATH, barePath: `/bare${QUERY}` },
    ctx,
  );

/** Judged: a hit answers at >= 0.85x the req/s of the same app's bare route. */
const HIT_VS_BARE = { against: 'bare', min: 0.85 };

export const cachingScenarios: Scenario[] = [
  {
    name: 'post-bare',
    description: 'bare POST route, same JSON body as the @CacheLLM rows (no cache)',
    start: () =>
      listen(BarePostModule, {
        path: '/generate',
        method: 'POST',
        body: BODY,
        headers: { 'content-type': 'application/json' },
      }),
  },
  {
    name: 'cache-llm-memory-post',
    description: '@CacheLLM hit on POST with the JSON body, memory store',
    compareTo: ['post-bare'],
    targets: [HIT_VS_BARE],
    start: (): Promise<BenchTarget> => {
      measureKeyComputation();
      return listen(CachedLlmModule.register({}), {
        path: '/generate',
        barePath: '/bare',
        method: 'POST',
        body: BODY,
        headers: { 'content-type': 'application/json' },
      });
    },
  },
  {
    name: 'cache-llm-memory',
    description: '@CacheLLM hit (GET), memory store (no Redis)',
    compareTo: ['cache-manager-memory'],
    targets: [HIT_VS_BARE],
    instructions: { peer: 'cache-manager-memory', max: 1.05 },
    start: llm({}, false),
  },
  {
    name: 'cache-manager-memory',
    description: '@nestjs/cache-manager CacheInterceptor hit (GET), its default in-memory store',
    start: (ctx) => listen(CacheManagerModule.inMemory(), { path: GET_PATH }, ctx),
  },
  {
    // Compared with CacheInterceptor on Redis for information only (no instruction target): an
    // L1 hit is answered in the same tick, a Redis hit a round trip later, and on this loopback
    // harness an answer given in the same tick costs more CPU per request (docs/benchmarks.md).
    name: 'cache-llm-redis-l1',
    description: '@CacheLLM hit (GET), Redis with the in-process L1',
    compareTo: ['cache-manager-redis'],
    targets: [HIT_VS_BARE],
    start: llm({}, true),
  },
  {
    name: 'cache-llm-redis-l2',
    description: '@CacheLLM hit (GET), Redis only (L1 off)',
    compareTo: ['cache-manager-redis'],
    targets: [HIT_VS_BARE],
    instructions: { peer: 'cache-manager-redis', max: 1.05 },
    start: llm({ l1: { ttlMs: 0 } }, true),
  },
  {
    name: 'cache-manager-redis',
    description: '@nestjs/cache-manager CacheInterceptor hit (GET), @keyv/redis on the same Redis',
    start: (ctx) => listen(CacheManagerModule.register(ctx.redisUrl), { path: GET_PATH }, ctx),
  },
];
