import { type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { ThrottlingStats } from '../src';
import { LLM_CACHE_PROBE, type LlmCacheProbe } from '../src/common/cache-probe';
import { inspectClient, testRedisOptions, uniquePrefix } from './support/test-redis';
import { hang, HOUR_MS, throttledApp } from './throttling-test-app';

/**
 * A small but real LlmCacheProbe: CachingModule (built on another branch) provides the real
 * one under the same token and contract; this one says "hit" for prompts starting with
 * "cached:". It lets these specs check the throttling side of the contract on its own.
 */
@Injectable()
class PrefixCacheProbe implements LlmCacheProbe {
  asked = 0;
  willHit(context: ExecutionContext): Promise<boolean> {
    this.asked++;
    const body = context.switchToHttp().getRequest<Request>().body as { prompt?: string };
    return Promise.resolve(typeof body?.prompt === 'string' && body.prompt.startsWith('cached:'));
  }
}

const budgetApp = (
  keyPrefix: string,
  extra: { probe?: PrefixCacheProbe; leaseTtlMs?: number } = {},
) =>
  throttledApp({
    throttling: {
      keyPrefix,
      policies: { llm: { limit: 3, ttlMs: HOUR_MS } },
      llm: { tokensPerMinute: 1000, leaseTtlMs: extra.leaseTtlMs },
    },
    redis: testRedisOptions(),
    globalProviders: extra.probe ? [{ provide: LLM_CACHE_PROBE, useValue: extra.probe }] : [],
  });

/** The aborted request's lease: long enough to see its reservation held on a loaded machine. */
const LEASE_MS = 2_000;

describe('ThrottlingModule LLM budgets (Redis)', () => {
  it('settles to real usage and answers 429 naming the token budget once it is spent', async () => {
    const app = await budgetApp(uniquePrefix('throttle-tokens'));
    const http = request(app.getHttpServer());
    // Reserves ~ 3 + 400 tokens; the response reports 700: the budget keeps 700, not 403.
    await http
      .post('/llm')
      .send({ prompt: 'hello', max_tokens: 400, usageIn: 100, usageOut: 600 })
      .expect(200);
    const res = await http.post('/llm').send({ prompt: 'hello', max_tokens: 400 }).expect(429);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.policies).toEqual([
      { name: 'llm:tokens', kind: 'tokens', limit: 1000, windowSeconds: 60 },
    ]);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // A smaller request still fits the 300 left.
    await http
      .post('/llm')
      .send({ prompt: 'hi', max_tokens: 200, usageIn: 1, usageOut: 1 })
      .expect(200);
    const { budgets } = await app.get(ThrottlingStats).snapshot();
    expect(budgets['llm:tokens']).toEqual({ kind: 'tokens', consumed: 702, rejected: 1 });
    await app.close();
  });

  it('settles a streamed (Observable) answer from the usage its last chunk reports', async () => {
    const app = await budgetApp(uniquePrefix('throttle-stream'));
    const http = request(app.getHttpServer());
    await http
      .post('/llm-stream')
      .send({ prompt: 'hello', max_tokens: 100, usageIn: 300, usageOut: 500 })
      .expect(200);
    const { budgets } = await app.get(ThrottlingStats).snapshot();
    expect(budgets['llm:tokens']).toEqual({ kind: 'tokens', consumed: 800, rejected: 0 });
    // 800 of 1000 used (not the 102 reserved): a 300-token reservation no longer fits.
    await http.post('/llm').send({ prompt: 'x', max_tokens: 300 }).expect(429);
    await app.close();
  });

  it('gives a failed request its reservation back at once', async () => {
    const app = await budgetApp(uniquePrefix('throttle-fail'));
    const http = request(app.getHttpServer());
    await http.post('/llm').send({ prompt: 'x', max_tokens: 900, fail: true }).expect(500);
    await http.post('/llm').send({ prompt: 'x', max_tokens: 900 }).expect(200);
    await app.close();
  });

  it("returns an aborted request's reservation when its lease expires", async () => {
    const app = await budgetApp(uniquePrefix('throttle-abort'), { leaseTtlMs: LEASE_MS });
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    const http = request(app.getHttpServer());
    hang.reset();
    const aborter = new AbortController();
    const pending = fetch(`${url.replace('[::1]', '127.0.0.1')}/hang`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'x', max_tokens: 900 }),
      signal: aborter.signal,
    }).catch((error: unknown) => error);
    await hang.entered; // admitted: ~901 tokens are reserved
    aborter.abort();
    await pending;
    await http.post('/llm').send({ prompt: 'x', max_tokens: 300 }).expect(429);
    // Past the lease the reservation is refunded. Refill alone frees ~17 tokens a second: within
    // the lease and the wait below, far from the ~200 more a 300-token request needs.
    const deadline = Date.now() + LEASE_MS + 5_000;
    for (;;) {
      const res = await http.post('/llm').send({ prompt: 'x', max_tokens: 300 });
      if (res.status === 200) break;
      expect(res.status).toBe(429);
      if (Date.now() > deadline) throw new Error('the reservation was not refunded past its lease');
      await delay(100);
    }
    hang.release();
    (app.getHttpServer() as import('node:http').Server).closeAllConnections();
    await app.close();
  });

  it('lets cache hits consume neither the request limit nor the budget (probe contract)', async () => {
    const keyPrefix = uniquePrefix('throttle-hits');
    const probe = new PrefixCacheProbe();
    const app = await budgetApp(keyPrefix, { probe });
    const http = request(app.getHttpServer());
    for (let i = 0; i < 10; i++)
      await http
        .post('/llm')
        .send({ prompt: 'cached: same question', max_tokens: 900 })
        .expect(200);
    expect(probe.asked).toBe(10);
    const inspect = await inspectClient();
    expect(await inspect.keys(`${keyPrefix}*`)).toEqual([]);
    // The full limit (3) and budget are still there.
    for (let i = 0; i < 3; i++)
      await http
        .post('/llm')
        .send({ prompt: 'fresh', max_tokens: 100, usageIn: 1, usageOut: 1 })
        .expect(200);
    const fourth = await http.post('/llm').send({ prompt: 'fresh', max_tokens: 100 }).expect(429);
    expect(fourth.body.policies.map((p: { name: string }) => p.name)).toEqual(['llm']);
    inspect.close();
    await app.close();
  });

  it('counts cache hits when the route says countCacheHits: true', async () => {
    const probe = new PrefixCacheProbe();
    const app = await budgetApp(uniquePrefix('throttle-counted'), { probe });
    const http = request(app.getHttpServer());
    for (let i = 0; i < 3; i++)
      await http
        .post('/llm-counted')
        .send({ prompt: 'cached: q', max_tokens: 10, usageIn: 1, usageOut: 1 })
        .expect(200);
    await http.post('/llm-counted').send({ prompt: 'cached: q', max_tokens: 10 }).expect(429);
    expect(probe.asked).toBe(0);
    await app.close();
  });

  it('enforces a dollar budget per day, priced by model', async () => {
    const app = await throttledApp({
      throttling: { keyPrefix: uniquePrefix('throttle-usd'), llm: { usdPerDay: 0.01 } },
      redis: testRedisOptions(),
    });
    const http = request(app.getHttpServer());
    // gpt-4o-mini: 0.15 $/M in, 0.6 $/M out. 10k output tokens reserve ~ $0.006.
    await http
      .post('/llm')
      .send({
        model: 'gpt-4o-mini',
        prompt: 'x',
        max_tokens: 10_000,
        usageIn: 10,
        usageOut: 10_000,
      })
      .expect(200);
    const res = await http
      .post('/llm')
      .send({ model: 'gpt-4o-mini', prompt: 'x', max_tokens: 10_000 })
      .expect(429);
    expect(res.body.policies.map((p: { name: string }) => p.name)).toEqual(['llm:usd']);
    const { budgets } = await app.get(ThrottlingStats).snapshot();
    expect(budgets['llm:usd']!.kind).toBe('usd');
    expect(budgets['llm:usd']!.consumed).toBeCloseTo(0.0060015, 5);
    await app.close();
  });
});
