import {
  BadGatewayException,
  BadRequestException,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { LlmCacheService } from '../src';
import { Calls, Hooks, startCachingTestApp } from './support/caching-test-app';
import { testRedisOptions, uniquePrefix } from './support/test-redis';

describe.each([
  ['memory', undefined],
  ['Redis', 'redis'],
])('@CacheLLM keys, stale answers and counted misses (%s)', (_, redis) => {
  let app: INestApplication;
  beforeEach(async () => {
    app = await startCachingTestApp(
      { keyPrefix: uniquePrefix('cache-route-key') },
      redis ? testRedisOptions() : undefined,
    );
  });
  afterEach(() => app.close());

  const post = (path: string, body: object) => request(app.getHttpServer()).post(path).send(body);
  const text = (res: request.Response): unknown => res.body?.choices?.[0]?.message?.content;

  it('keeps the entries of two routes apart for the same body', async () => {
    const body = { model: 'gpt-4o-mini', prompt: 'bonjour' };
    const summary = await post('/summarize', body);
    const translation = await post('/translate', body);
    expect([summary.headers['x-cache'], translation.headers['x-cache']]).toEqual(['MISS', 'MISS']);
    expect(text(translation)).toBe('translated: bonjour');
    const again = await post('/translate', body);
    expect([again.headers['x-cache'], text(again)]).toEqual(['HIT', 'translated: bonjour']);
    expect(app.get(Calls).count).toBe(2);
  });

  it('shares entries between routes that name one namespace, and the service reads them there', async () => {
    const body = { model: 'gpt-4o-mini', prompt: 'shared' };
    const a = await post('/shared-a', body);
    const b = await post('/shared-b', body);
    expect([a.headers['x-cache'], b.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(text(b)).toBe('a: shared');
    const cache = app.get(LlmCacheService);
    const read = await cache.get<{ choices: { message: { content: string } }[] }>(body, {
      namespace: 'shared',
    });
    expect(read?.choices[0]?.message.content).toBe('a: shared');
    expect(await cache.get(body)).toBeNull();
  });

  it.each([
    ['a provider 5xx', () => new BadGatewayException('provider answered 500')],
    ['a 503', () => new ServiceUnavailableException('overloaded')],
    ['a network error', () => new Error('ECONNRESET')],
  ])('answers an expired entry marked STALE when the handler fails with %s', async (_, error) => {
    const body = { model: 'gpt-4o-mini', prompt: `flaky ${uniquePrefix('p')}` };
    const first = await post('/flaky', body);
    expect([first.status, first.headers['x-cache']]).toEqual([200, 'MISS']);
    await delay(5); // the entry's TTL is 1 ms
    app.get(Hooks).failure = error();
    const stale = await post('/flaky', body);
    expect([stale.status, stale.headers['x-cache']]).toEqual([200, 'STALE']);
    expect(stale.text).toBe(first.text);
    app.get(Hooks).failure = undefined;
    const fresh = await post('/flaky', body);
    expect([fresh.status, fresh.headers['x-cache']]).toEqual([200, 'MISS']);
    expect(text(fresh)).not.toBe(text(first));
  });

  it('answers no stale entry to a request the handler rejects (a 4xx is the client’s)', async () => {
    const body = { model: 'gpt-4o-mini', prompt: `flaky4xx ${uniquePrefix('p')}` };
    await post('/flaky', body).expect(200);
    await delay(5);
    app.get(Hooks).failure = new BadRequestException('bad');
    await post('/flaky', body).expect(400);
    app.get(Hooks).failure = undefined;
  });

  it('counts no miss for requests a validation pipe rejects', async () => {
    const cache = app.get(LlmCacheService);
    const before = await cache.stats();
    for (let i = 0; i < 5; i++)
      await post('/validated', { model: `junk-${i}-${uniquePrefix('m')}`, prompt: 42 }).expect(400);
    const after = await cache.stats();
    expect(after.misses - before.misses).toBe(0);
    expect(Object.keys(after.byModel).filter((m) => m.startsWith('junk-'))).toEqual([]);
    await post('/validated', { model: 'gpt-4o-mini', prompt: 'valid' }).expect(200);
    expect((await cache.stats()).misses - before.misses).toBe(1);
    expect(app.get(Calls).count).toBe(1);
  });
});
