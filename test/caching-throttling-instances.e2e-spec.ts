import {
  Body,
  Controller,
  HttpCode,
  Module,
  Post,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { CacheLLM, CachingModule, LLMThrottle, RedisModule, ThrottlingModule } from '../src';
import { completion } from './support/caching-test-app';
import { countFlightJoins } from './support/flight-joins';
import { startTestApp } from './support/platform';
import { testRedisOptions, uniquePrefix } from './support/test-redis';
import { until } from './support/until';

// Two instances on one Redis: a request answered COALESCED by another instance's upstream call
// (it waits on that call's Redis lock) is free like a hit; if that call fails and the request
// calls upstream itself, it is charged then.

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/** The upstream of both instances: held until the spec lets it go; can fail its next call. */
const upstream = {
  calls: 0,
  failNext: false,
  entered: deferred(),
  gate: deferred(),
  reset(): void {
    Object.assign(this, {
      calls: 0,
      failNext: false,
      entered: deferred(),
      gate: deferred(),
    });
  },
};

async function callUpstream(prompt: string) {
  upstream.calls++;
  upstream.entered.resolve();
  await upstream.gate.promise;
  if (upstream.failNext) {
    upstream.failNext = false;
    throw new ServiceUnavailableException('the provider is down');
  }
  return completion(`answer to ${prompt}`);
}

@Controller()
class SlowLlm {
  /** Limit 1: A's call fills it, so any charge on B is a 429. */
  @Post('one')
  @HttpCode(200)
  @LLMThrottle({ policy: 'one' })
  @CacheLLM({ scope: 'global' })
  one(@Body() body: { prompt: string }) {
    return callUpstream(body.prompt);
  }

  @Post('three')
  @HttpCode(200)
  @LLMThrottle({ policy: 'three' })
  @CacheLLM({ scope: 'global' })
  three(@Body() body: { prompt: string }) {
    return callUpstream(body.prompt);
  }
}

async function instance(cachePrefix: string, throttlePrefix: string) {
  @Module({
    imports: [
      RedisModule.forRoot(testRedisOptions()),
      CachingModule.forRoot({
        keyPrefix: cachePrefix,
        partitionSecret: 'caching-throttling-instances-secret-0123456789',
      }),
      ThrottlingModule.forRoot({
        keyPrefix: throttlePrefix,
        policies: { one: { limit: 1, ttlMs: 60_000 }, three: { limit: 3, ttlMs: 60_000 } },
      }),
    ],
    controllers: [SlowLlm],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  return startTestApp(moduleRef);
}

const ask = (server: Server, prompt: string, route = 'one') =>
  request(server).post(`/${route}`).send({ prompt });

describe('COALESCED across instances (Redis lock)', () => {
  let a: INestApplication;
  let b: INestApplication;

  beforeEach(async () => {
    upstream.reset();
    const cachePrefix = uniquePrefix('coal-cache');
    const throttlePrefix = uniquePrefix('coal-rl');
    a = await instance(cachePrefix, throttlePrefix);
    b = await instance(cachePrefix, throttlePrefix);
  });
  afterEach(async () => {
    upstream.gate.resolve();
    await Promise.all([a.close(), b.close()]);
  });

  /** Starts A's call for `prompt` and returns once A's upstream call holds the lock. */
  async function lead(prompt: string, route: string) {
    const leader = ask(a.getHttpServer(), prompt, route).then((r) => r);
    await upstream.entered.promise;
    return { leader };
  }

  /**
   * Sends `n` identical requests to B and waits until they are past the guard and in the cache's
   * flight (waiting on A's lock).
   */
  async function follow(prompt: string, route: string, n: number) {
    const joins = countFlightJoins(b);
    try {
      const followers = Promise.all(
        Array.from({ length: n }, () => ask(b.getHttpServer(), prompt, route).then((r) => r)),
      );
      await until(() => joins.count === n, `the ${n} requests on B to join the flight`);
      return { followers };
    } finally {
      joins.restore();
    }
  }

  it("10 identical requests on B while A's call is in flight, limit 1: 0 rejected, only A charged", async () => {
    const { leader } = await lead('the same question', 'one');
    const { followers } = await follow('the same question', 'one', 10);
    // They wait on A's call. Before, B charged the first of them, over the limit A had filled:
    // a 429 at once for an answer that would have cost nothing.
    const early = await Promise.race([followers, delay(100, undefined)]);
    expect(early?.map((r) => r.status)).toBeUndefined();
    upstream.gate.resolve();
    const [first, rest] = [await leader, await followers];
    expect(first.status).toBe(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(rest.map((r) => r.status)).toEqual(Array(10).fill(200));
    for (const r of rest) expect(['COALESCED', 'HIT']).toContain(r.headers['x-cache']);
    expect(rest.some((r) => r.headers['x-cache'] === 'COALESCED')).toBe(true);
    expect(upstream.calls).toBe(1);
    await ask(b.getHttpServer(), 'another').expect(429);
  });

  it('a follower on B whose leader on A fails calls upstream itself and is charged then', async () => {
    upstream.failNext = true;
    const { leader } = await lead('a question the provider fails', 'three');
    const { followers } = await follow('a question the provider fails', 'three', 1);
    upstream.gate.resolve();
    const [first, [follower]] = [await leader, await followers];
    expect(first.status).toBe(503);
    expect(follower!.status).toBe(200);
    expect(follower!.headers['x-cache']).toBe('MISS');
    expect(upstream.calls).toBe(2);
    // A's request and B's late charge, of 3: one more distinct prompt fits, the next does not.
    await ask(a.getHttpServer(), 'another 1', 'three').expect(200);
    await ask(b.getHttpServer(), 'another 2', 'three').expect(429);
  });
});
