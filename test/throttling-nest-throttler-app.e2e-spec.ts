import { Controller, Get, type INestApplication, Module, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SkipThrottle, Throttle, type ThrottlerOptions } from '@nestjs/throttler';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import {
  RateLimit,
  RedisModule,
  ThrottlingGuard,
  ThrottlingModule,
  type ThrottlingModuleOptions,
} from '../src';
import { startTestApp } from './support/platform';
import { inspectClient, testRedisOptions, uniquePrefix } from './support/test-redis';

// An app written for @nestjs/throttler: its decorators, its option names. The only change is
// the module swap: ThrottlingModule.forRoot(...) where it had ThrottlerModule.forRoot(...) and
// { provide: APP_GUARD, useClass: ThrottlerGuard }.

@Controller()
class AppController {
  @Get('plain')
  plain() {
    return { ok: true };
  }

  @Throttle({ default: { limit: 1, ttl: 60_000 } })
  @Get('strict')
  strict() {
    return { ok: true };
  }

  @SkipThrottle()
  @Get('free')
  free() {
    return { ok: true };
  }

  @Get('other')
  other() {
    return { ok: true };
  }
}

@Controller()
class NoShortController {
  @SkipThrottle({ short: true })
  @Get('no-short')
  noShort() {
    return { ok: true };
  }
}

@SkipThrottle()
@Controller('skipped')
class SkippedController {
  @Get()
  skipped() {
    return { ok: true };
  }

  @SkipThrottle({ default: false })
  @Get('back')
  back() {
    return { ok: true };
  }
}

@Controller('kit')
class KitController {
  // The kit's own decorator keeps working next to @nestjs/throttler's.
  @RateLimit({ name: 'kit', limit: 1, ttlMs: 60_000 })
  @Get()
  kit() {
    return { ok: true };
  }
}

// Bound per controller, as @nestjs/throttler apps may bind ThrottlerGuard instead of APP_GUARD.
@UseGuards(ThrottlingGuard)
@Controller('bound')
class BoundController {
  @Get()
  bound() {
    return { ok: true };
  }
}

const stores = [
  ['Redis', true],
  ['the memory store', false],
] as const;

async function appWith(
  options: ThrottlingModuleOptions,
  withRedis: boolean,
  controllers: (new () => object)[] = [AppController, SkippedController, KitController],
): Promise<INestApplication> {
  @Module({
    imports: [
      ...(withRedis ? [RedisModule.forRoot(testRedisOptions())] : []),
      ThrottlingModule.forRoot({ keyPrefix: uniquePrefix('nest-app'), ...options }),
    ],
    controllers,
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  return startTestApp(moduleRef);
}

const header = (res: request.Response, name: string): string | undefined =>
  res.headers[name.toLowerCase()] as string | undefined;

describe.each(stores)(
  'an app written for @nestjs/throttler on ThrottlingModule (%s)',
  (_, redis) => {
    const apps: INestApplication[] = [];
    const start = async (options: ThrottlingModuleOptions, controllers?: (new () => object)[]) => {
      const app = await appWith(options, redis, controllers);
      apps.push(app);
      return request(app.getHttpServer());
    };
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.close()));
    });

    it('limits by the default throttler with its X-RateLimit-* headers, then 429 with Retry-After', async () => {
      const http = await start({ throttlers: [{ ttl: 60_000, limit: 2 }] });
      const first = await http.get('/plain').expect(200);
      expect(header(first, 'X-RateLimit-Limit')).toBe('2');
      expect(header(first, 'X-RateLimit-Remaining')).toBe('1');
      expect(Number(header(first, 'X-RateLimit-Reset'))).toBeGreaterThan(0);
      expect(Number(header(first, 'X-RateLimit-Reset'))).toBeLessThanOrEqual(60);
      const second = await http.get('/plain').expect(200);
      expect(header(second, 'X-RateLimit-Remaining')).toBe('0');
      const third = await http.get('/plain').expect(429);
      expect(Number(header(third, 'Retry-After'))).toBeGreaterThan(0);
      expect(Number(header(third, 'Retry-After'))).toBeLessThanOrEqual(60);
      // The kit's extras stay: problem+json and the IETF fields.
      expect(third.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(header(first, 'RateLimit-Policy')).toBe('"default";q=2;w=60');
      // Counted per route, as @nestjs/throttler's default key.
      await http.get('/other').expect(200);
    });

    it('suffixes the headers of named throttlers and names the rejecting one in Retry-After-<name>', async () => {
      const http = await start({
        throttlers: [
          { name: 'short', ttl: 1_000, limit: 1 },
          { name: 'long', ttl: 60_000, limit: 100 },
        ],
      });
      const ok = await http.get('/plain').expect(200);
      expect(header(ok, 'X-RateLimit-Limit-short')).toBe('1');
      expect(header(ok, 'X-RateLimit-Remaining-short')).toBe('0');
      expect(header(ok, 'X-RateLimit-Limit-long')).toBe('100');
      expect(header(ok, 'X-RateLimit-Remaining-long')).toBe('99');
      expect(Number(header(ok, 'X-RateLimit-Reset-long'))).toBeGreaterThan(1);
      const rejected = await http.get('/plain').expect(429);
      expect(Number(header(rejected, 'Retry-After-short'))).toBe(1);
      expect(header(rejected, 'Retry-After-long')).toBeUndefined();
    });

    it('applies @Throttle() overrides and @SkipThrottle() on routes and classes', async () => {
      const http = await start(
        {
          throttlers: [
            { name: 'default', ttl: 60_000, limit: 3 },
            { name: 'short', ttl: 60_000, limit: 10 },
          ],
        },
        [AppController, SkippedController, NoShortController],
      );
      const strict = await http.get('/strict').expect(200);
      expect(header(strict, 'X-RateLimit-Limit')).toBe('1');
      await http.get('/strict').expect(429);
      for (let i = 0; i < 5; i++) {
        const free = await http.get('/free').expect(200);
        // @SkipThrottle() skips the default throttler only: short still applies.
        expect(header(free, 'X-RateLimit-Limit')).toBeUndefined();
        expect(header(free, 'X-RateLimit-Limit-short')).toBe('10');
      }
      for (let i = 0; i < 3; i++) {
        const res = await http.get('/no-short').expect(200);
        expect(header(res, 'X-RateLimit-Limit-short')).toBeUndefined();
        expect(header(res, 'X-RateLimit-Limit')).toBe('3');
      }
      await http.get('/no-short').expect(429);
      // Class-level @SkipThrottle(), undone on one route by @SkipThrottle({ default: false }).
      for (let i = 0; i < 4; i++) await http.get('/skipped').expect(200);
      const back = await http.get('/skipped/back').expect(200);
      expect(header(back, 'X-RateLimit-Limit')).toBe('3');
    });

    it('counts a request once on a controller that also binds ThrottlingGuard itself', async () => {
      const http = await start({ throttlers: [{ ttl: 60_000, limit: 2 }] }, [BoundController]);
      const first = await http.get('/bound').expect(200);
      expect(header(first, 'X-RateLimit-Remaining')).toBe('1');
      await http.get('/bound').expect(200);
      await http.get('/bound').expect(429);
    });

    it('lets skipIf and ignoreUserAgents through unlimited', async () => {
      const http = await start({
        throttlers: [{ ttl: 60_000, limit: 1 }],
        skipIf: (context) =>
          context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers[
            'x-internal'
          ] === 'yes',
        ignoreUserAgents: [/googlebot/i],
      });
      await http.get('/plain').expect(200);
      await http.get('/plain').expect(429);
      for (let i = 0; i < 3; i++) {
        await http.get('/plain').set('x-internal', 'yes').expect(200);
        await http.get('/plain').set('User-Agent', 'Mozilla/5.0 Googlebot/2.1').expect(200);
      }
    });

    it('counts by getTracker and shares counts through generateKey', async () => {
      const http = await start({
        throttlers: [{ ttl: 60_000, limit: 1 }],
        getTracker: (req) => (req.headers as Record<string, string>)['x-tenant'] ?? 'anonymous',
        generateKey: (_context, tracker, name) => `${name}:${tracker}`,
      });
      await http.get('/plain').set('x-tenant', 'a').expect(200);
      await http.get('/plain').set('x-tenant', 'b').expect(200);
      // One key per tenant across routes: /other shares the count of /plain.
      await http.get('/other').set('x-tenant', 'a').expect(429);
      await http.get('/other').set('x-tenant', 'c').expect(200);
    });

    it('answers errorMessage (a string, or a function of the limit detail) in the 429', async () => {
      const text = await start({
        throttlers: [{ ttl: 60_000, limit: 1 }],
        errorMessage: 'Slow down.',
      });
      await text.get('/plain').expect(200);
      expect((await text.get('/plain').expect(429)).body.detail).toBe('Slow down.');
      const fn = await start({
        throttlers: [{ name: 'minute', ttl: 60_000, limit: 1 }],
        errorMessage: (_context, detail) =>
          `limit ${detail.limit} per ${detail.ttl} ms, blocked ${String(detail.isBlocked)}`,
      });
      await fn.get('/plain').expect(200);
      expect((await fn.get('/plain').expect(429)).body.detail).toBe(
        'limit 1 per 60000 ms, blocked true',
      );
    });

    it('limits without throttler headers with setHeaders: false', async () => {
      const http = await start({ throttlers: [{ ttl: 60_000, limit: 2 }], setHeaders: false });
      const res = await http.get('/plain').expect(200);
      expect(Object.keys(res.headers).filter((h) => /ratelimit/i.test(h))).toEqual([]);
      // Still limited, only silent about it.
      await http.get('/plain').expect(200);
      await http.get('/plain').expect(429);
    });

    it('blocks for blockDuration after the limit is passed, then admits again', async () => {
      // Short windows with a margin on each side of every sleep: Retry-After is still 3 s.
      const throttlers: ThrottlerOptions[] = [{ ttl: 600, limit: 1, blockDuration: 2_100 }];
      const http = await start({ throttlers });
      await http.get('/plain').expect(200);
      const blocked = await http.get('/plain').expect(429);
      expect(Number(header(blocked, 'Retry-After'))).toBe(3);
      // The window is over, the block is not.
      await sleep(800);
      await http.get('/plain').expect(429);
      await sleep(1_500);
      await http.get('/plain').expect(200);
    });

    it("keeps the kit's own decorators working beside the throttlers", async () => {
      const http = await start({ throttlers: [{ ttl: 60_000, limit: 5 }] });
      const ok = await http.get('/kit').expect(200);
      expect(header(ok, 'X-RateLimit-Limit')).toBe('5');
      expect(header(ok, 'RateLimit-Policy')).toBe('"kit";q=1;w=60, "default";q=5;w=60');
      const rejected = await http.get('/kit').expect(429);
      expect(rejected.body.policies).toEqual([
        { name: 'kit', kind: 'requests', limit: 1, windowSeconds: 60 },
      ]);
    });

    it('fails the boot on a decorator naming a throttler that is not configured', async () => {
      @Controller()
      class TypoController {
        @Throttle({ shrot: { limit: 1, ttl: 1_000 } })
        @Get()
        typo() {
          return { ok: true };
        }
      }
      await expect(
        start({ throttlers: [{ name: 'short', ttl: 1_000, limit: 1 }] }, [TypoController]),
      ).rejects.toThrow(/'shrot'.*does not define \(defined: 'short'\)/);
      // Without Redis: options fail while the module compiles, before there is an app whose
      // close() would end a Redis connection (one opened here would keep Jest from exiting).
      await expect(appWith({ throttlers: [{ ttl: -1, limit: 1 }] }, false)).rejects.toThrow(
        /throttlers\[0\] \(default\)\.ttl/,
      );
    });
  },
);

describe('an app written for @nestjs/throttler on ThrottlingModule with Redis: round trips', () => {
  it('evaluates every throttler and @RateLimit of a request in one EVALSHA', async () => {
    const app = await appWith(
      {
        throttlers: [
          { name: 'short', ttl: 1_000, limit: 100 },
          { name: 'medium', ttl: 10_000, limit: 100 },
          { name: 'long', ttl: 60_000, limit: 100 },
        ],
        statsFlushIntervalMs: 3_600_000,
      },
      true,
    );
    const http = request(app.getHttpServer());
    await http.get('/kit').expect(200); // loads the script once
    const inspector = await inspectClient();
    const before = (await inspector.commandCalls()).evalsha ?? 0;
    await http.get('/kit').expect(429);
    for (let i = 0; i < 5; i++) await http.get('/plain').expect(200);
    const after = (await inspector.commandCalls()).evalsha ?? 0;
    expect(after - before).toBe(6);
    inspector.close();
    await app.close();
  });
});
