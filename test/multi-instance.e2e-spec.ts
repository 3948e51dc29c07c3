import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { LlmProvider } from '../sample/llm/llm-provider';
import type { SampleOptions } from '../sample/sample-options';
import { relaxedThrottling, startSampleApp } from './support/sample-app';
import { sampleRedis, uniquePrefix } from './support/test-redis';
import { sessionCookie, TEST_SECRET } from './session-support/session-test-app';

const HTTPS = { 'X-Forwarded-Proto': 'https' };
const INSTANCES = 3;

/**
 * Three sample apps on the run's Redis (a server or a cluster), with key prefixes of their own
 * test. Rate limits are relaxed unless the test gives its own: every request comes from one
 * address.
 */
async function startInstances(
  name: string,
  throttling: SampleOptions['throttling'] = relaxedThrottling(),
) {
  const options: SampleOptions = {
    ...sampleRedis(),
    sessionSecret: TEST_SECRET,
    session: { prefix: uniquePrefix(`${name}-sess`) },
    caching: { keyPrefix: uniquePrefix(`${name}-cache`).slice(0, -1) },
    throttling,
  };
  const apps: INestApplication[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    const app = await startSampleApp(options, { trustProxy: 'loopback' });
    apps.push(app);
  }
  return {
    apps,
    http: (i: number) => request(apps[i % INSTANCES]!.getHttpServer()),
    upstreamCalls: () => apps.reduce((sum, app) => sum + app.get(LlmProvider).calls, 0),
    close: () => Promise.all(apps.map((app) => app.close())),
  };
}

const generate = (prompt: string) => ({ model: 'gpt-4o-mini', prompt, temperature: 0 });

describe('three sample-app instances on one Redis', () => {
  const latency = process.env.LLM_LATENCY_MS;
  beforeAll(() => (process.env.LLM_LATENCY_MS = '300'));
  afterAll(() => (process.env.LLM_LATENCY_MS = latency));

  it('makes exactly one upstream call per coalesced key, with requests spread over the instances', async () => {
    const fleet = await startInstances('multi-coalesce');
    try {
      const prompts = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
      const perKey = 12;
      const responses = await Promise.all(
        prompts.flatMap((prompt, k) =>
          Array.from({ length: perKey }, (_, i) =>
            fleet
              .http(k + i)
              .post('/llm/generate')
              .send(generate(prompt))
              .then((res) => ({ prompt, status: res.status, text: res.text })),
          ),
        ),
      );
      expect(fleet.upstreamCalls()).toBe(prompts.length);
      expect(responses.every((r) => r.status === 200)).toBe(true);
      for (const prompt of prompts) {
        const texts = new Set(responses.filter((r) => r.prompt === prompt).map((r) => r.text));
        expect(texts.size).toBe(1);
      }
    } finally {
      await fleet.close();
    }
  });

  it('shows a session logged in on one instance on the others, and a logout on a third ends it everywhere', async () => {
    const fleet = await startInstances('multi-sess');
    try {
      const login = await fleet
        .http(0)
        .post('/auth/login')
        .set(HTTPS)
        .send({ username: 'alice', password: 'wonderland' })
        .expect(200);
      const cookie = sessionCookie(login)!;
      expect(cookie).toBeDefined();
      for (const i of [1, 2]) {
        const me = await fleet.http(i).get('/profile').set(HTTPS).set('Cookie', cookie).expect(200);
        expect(me.body.id).toBe('u-alice');
      }
      const listed = await fleet
        .http(1)
        .get('/auth/sessions')
        .set(HTTPS)
        .set('Cookie', cookie)
        .expect(200);
      expect(listed.body).toHaveLength(1);

      await fleet.http(2).post('/auth/logout').set(HTTPS).set('Cookie', cookie).expect(200);
      for (const i of [0, 1, 2])
        await fleet.http(i).get('/profile').set(HTTPS).set('Cookie', cookie).expect(401);
    } finally {
      await fleet.close();
    }
  });

  it('sums the stats exactly: after N requests over the instances, /stats/cache on each counts N', async () => {
    const fleet = await startInstances('multi-stats');
    try {
      // Sequential, so no two requests race: the first of each prompt misses, the rest hit
      // (from Redis on the instances that did not make the first call).
      const prompts = ['one', 'two', 'three', 'four'];
      const sent = 30;
      for (let i = 0; i < sent; i++) {
        const res = await fleet
          .http(i)
          .post('/llm/generate')
          .send(generate(prompts[i % prompts.length]!))
          .expect(200);
        expect(res.headers['x-cache']).toBe(i < prompts.length ? 'MISS' : 'HIT');
      }
      const logins = 4;
      for (let i = 0; i < logins; i++) {
        await fleet
          .http(i)
          .post('/auth/login')
          .set(HTTPS)
          .send({ username: 'bob', password: 'builder' })
          .expect(200);
      }
      // Each instance batches its counters and flushes them when asked for a snapshot: ask
      // every instance once, then every instance must report the fleet's totals.
      for (let i = 0; i < INSTANCES; i++) {
        await fleet.http(i).get('/stats/cache').expect(200);
        await fleet.http(i).get('/stats/sessions').expect(200);
      }
      for (let i = 0; i < INSTANCES; i++) {
        const cache = (await fleet.http(i).get('/stats/cache').expect(200)).body;
        expect(cache.hits + cache.misses + cache.coalesced + cache.bypassed).toBe(sent);
        expect(cache).toMatchObject({
          hits: sent - prompts.length,
          misses: prompts.length,
          coalesced: 0,
          bypassed: 0,
        });
        expect(cache.byModel['gpt-4o-mini'].hits).toBe(sent - prompts.length);
        const sessions = (await fleet.http(i).get('/stats/sessions').expect(200)).body;
        expect(sessions).toMatchObject({ created: logins, active: logins });
      }
      expect(fleet.upstreamCalls()).toBe(prompts.length);
    } finally {
      await fleet.close();
    }
  });

  it('admits exactly the limit across the instances: 30 concurrent requests, limit 10', async () => {
    // The sample's `expensive` preset on /llm/summarize, with a window long enough that no
    // request is refilled during the test; the sample's other limits stay as they are.
    const fleet = await startInstances('multi-rl', {
      keyPrefix: uniquePrefix('multi-rl'),
      policies: { expensive: { limit: 10, ttlMs: 3_600_000 } },
    });
    try {
      const responses = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          fleet
            .http(i)
            .post('/llm/summarize')
            .send({ model: 'gpt-4o-mini', prompt: `text ${i}`, max_tokens: 50 }),
        ),
      );
      const admitted = responses.filter((res) => res.status === 200);
      const rejected = responses.filter((res) => res.status === 429);
      expect(admitted).toHaveLength(10);
      expect(rejected).toHaveLength(20);
      for (const res of rejected)
        expect(res.body.policies.map((p: { name: string }) => p.name)).toEqual(['expensive']);
      // Counted per instance, the three would have admitted up to 30; only the admitted reached
      // the LLM.
      expect(fleet.upstreamCalls()).toBe(10);
      // And the stats agree on every instance (each flushes its batch when asked, once).
      for (let i = 0; i < INSTANCES; i++) await fleet.http(i).get('/stats/throttling').expect(200);
      for (let i = 0; i < INSTANCES; i++) {
        const stats = (await fleet.http(i).get('/stats/throttling').expect(200)).body;
        expect(stats.byPolicy.expensive).toEqual({ allowed: 10, rejected: 20 });
      }
    } finally {
      await fleet.close();
    }
  });
});
