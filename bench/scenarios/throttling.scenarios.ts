import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { randomBytes } from 'node:crypto';
import { RateLimit, RedisModule, ThrottlingModule } from '../../src';
import { listen, PAYLOAD } from '../bench-app';
import type { Scenario } from '../scenario';

// Limits high enough that nothing is rejected: the bench measures the admit path.
const LIMIT = 1_000_000_000;
const NAMES = ['short', 'medium', 'long'] as const;
const TTLS_MS = [1_000, 60_000, 3_600_000];
const prefix = (): string => `bench:rl:${randomBytes(4).toString('hex')}:`;

@Controller()
class OursController {
  @RateLimit(...NAMES)
  @Get('payload')
  payload() {
    return PAYLOAD;
  }

  /** The row's bare route: the same app (the guard is global), no policy on the route. */
  @Get('bare')
  bare() {
    return PAYLOAD;
  }
}

@Controller()
class NestController {
  @Get('payload')
  payload() {
    return PAYLOAD;
  }
}

const ourPolicies = Object.fromEntries(
  NAMES.map((name, i) => [name, { limit: LIMIT, ttlMs: TTLS_MS[i]! }]),
);
const nestThrottlers = NAMES.map((name, i) => ({ name, limit: LIMIT, ttl: TTLS_MS[i]! }));

@Module({})
class OursModule {
  static register(redisUrl?: string) {
    return {
      module: OursModule,
      imports: [
        ...(redisUrl ? [RedisModule.forRoot({ url: redisUrl })] : []),
        ThrottlingModule.forRoot({ policies: ourPolicies, keyPrefix: prefix() }),
      ],
      controllers: [OursController],
    };
  }
}

@Module({})
class NestThrottlerModule {
  static register(redisUrl?: string) {
    return {
      module: NestThrottlerModule,
      imports: [
        ThrottlerModule.forRoot({
          throttlers: nestThrottlers,
          ...(redisUrl
            ? { storage: new ThrottlerStorageRedisService(redisUrl, { keyPrefix: prefix() }) }
            : {}),
        }),
      ],
      controllers: [NestController],
      providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
    };
  }
}

export const throttlingScenarios: Scenario[] = [
  {
    name: 'throttle-ours-redis',
    description: 'our guard, 3 named throttlers, Redis (1 EVALSHA)',
    compareTo: ['throttle-nestlab-redis', 'redis-floor'],
    targets: [{ against: 'bare', min: 0.85 }],
    start: (ctx) =>
      listen(OursModule.register(ctx.redisUrl), { path: '/payload', barePath: '/bare' }, ctx),
  },
  {
    name: 'throttle-nestlab-redis',
    description: '@nestjs/throttler + @nest-lab/throttler-storage-redis, same 3 throttlers',
    start: (ctx) => listen(NestThrottlerModule.register(ctx.redisUrl), { path: '/payload' }, ctx),
  },
  {
    name: 'throttle-ours-memory',
    description: 'our guard, 3 named throttlers, embedded memory store',
    compareTo: ['throttle-nest-memory'],
    start: (ctx) => listen(OursModule.register(), { path: '/payload', barePath: '/bare' }, ctx),
  },
  {
    name: 'throttle-nest-memory',
    description: '@nestjs/throttler, default memory storage, same 3 throttlers',
    start: (ctx) => listen(NestThrottlerModule.register(), { path: '/payload' }, ctx),
  },
];
