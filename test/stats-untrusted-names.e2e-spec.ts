import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { LlmCacheStats } from '../src';
import {
  MAX_SERIES_NAME_LENGTH,
  MAX_UNKNOWN_MODELS,
  OTHER_MODEL,
} from '../src/caching/llm-cache.stats';
import { parsePrometheusText } from './support/prometheus-text';
import { startStatsLlmApp } from './support/stats-llm-app';
import {
  inspectClient,
  type RedisInspector,
  type RedisTarget,
  testRedisOptions,
  uniquePrefix,
} from './support/test-redis';

// Model names come from request bodies. These once became prototype writes (`byModel[name]
// ??= ...` returned Object.prototype), broke every session create and made a metrics scrape
// throw `Added label "misses" is not included in initial labelset`.
const NAMES = ['__proto__', 'constructor', 'toString'];
const HTTPS = { 'X-Forwarded-Proto': 'https' };

const polluted = (): string[] =>
  ['hits', 'misses', 'coalesced', 'savingsUsd'].filter((name) => name in {});

/** The distinct `model` label values of the metrics that have one. */
function modelLabels(text: string): Set<string> {
  const models = new Set<string>();
  for (const family of parsePrometheusText(text).values())
    for (const sample of family.samples)
      if (sample.labels.model !== undefined) models.add(sample.labels.model);
  return models;
}

async function loginWorks(app: INestApplication): Promise<void> {
  const http = request(app.getHttpServer());
  const login = await http.post('/login/u1').set(HTTPS).expect(201);
  const cookie = (login.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
  await http.get('/me').set(HTTPS).set('Cookie', cookie).expect(200, { userId: 'u1' });
}

describe.each([
  ['in memory', () => undefined],
  ['on Redis', () => testRedisOptions()],
])('Model names from requests are data (%s)', (_mode, target: () => RedisTarget | undefined) => {
  const apps: INestApplication[] = [];
  let inspector: RedisInspector | undefined;
  const start = async (prefix: string) => {
    const app = await startStatsLlmApp({ prefix, redis: target() });
    apps.push(app);
    return app;
  };
  beforeAll(async () => {
    if (target()) inspector = await inspectClient(target());
  });
  afterAll(() => inspector?.close());
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('__proto__, constructor and toString: /stats and /stats/metrics answer 200, login works, no prototype is written', async () => {
    const app = await start(uniquePrefix('names'));
    const http = request(app.getHttpServer());
    for (const model of NAMES) {
      const miss = await http.post('/chat').send({ model, prompt: 'hi' });
      const hit = await http.post('/chat').send({ model, prompt: 'hi' });
      expect([miss.status, miss.headers['x-cache'], hit.headers['x-cache']]).toEqual([
        201,
        'MISS',
        'HIT',
      ]);
    }
    expect(polluted()).toEqual([]);
    const { body } = await http.get('/stats').expect(200);
    expect(Object.keys(body.cache.byModel).sort()).toEqual([...NAMES].sort());
    for (const model of NAMES)
      expect(body.cache.byModel[model]).toMatchObject({ hits: 1, misses: 1 });
    const metrics = await http.get('/stats/metrics').expect(200);
    expect([...modelLabels(metrics.text)].sort()).toEqual([...NAMES].sort());
    await loginWorks(app);
    await http.get('/stats/metrics').expect(200);
    expect(polluted()).toEqual([]);
  });

  it(`10,000 distinct junk model names leave at most ${MAX_UNKNOWN_MODELS} series of their own plus "${OTHER_MODEL}", names cut to ${MAX_SERIES_NAME_LENGTH}`, async () => {
    const prefix = uniquePrefix('junk');
    const app = await start(prefix);
    const stats = app.get(LlmCacheStats);
    for (let i = 0; i < 10_000; i++) stats.record('misses', `junk-${i}-${'x'.repeat(200)}`);
    // Dated variants of a price-table model are counted under the table's name.
    for (let i = 0; i < 100; i++) stats.record('misses', `gpt-4o-mini-${i}`);
    const http = request(app.getHttpServer());
    const { body } = await http.get('/stats/cache').expect(200);
    const names = Object.keys(body.byModel);
    expect(names.length).toBe(MAX_UNKNOWN_MODELS + 2);
    expect(names).toEqual(expect.arrayContaining([OTHER_MODEL, 'gpt-4o-mini']));
    expect(Math.max(...names.map((name) => name.length))).toBe(MAX_SERIES_NAME_LENGTH);
    expect(body.byModel['gpt-4o-mini'].misses).toBe(100);
    expect(body.byModel[OTHER_MODEL].misses).toBe(10_000 - MAX_UNKNOWN_MODELS);
    expect(body.misses).toBe(10_100);
    const metrics = await http.get('/stats/metrics').expect(200);
    expect([...modelLabels(metrics.text)].sort()).toEqual([...names].sort());
    if (inspector) {
      const fields = await inspector.redis.hKeys(`${prefix}llm:{stats}`);
      const models = new Set(fields.filter((f) => f.startsWith('m|')).map((f) => f.split('|')[1]));
      expect(models.size).toBe(MAX_UNKNOWN_MODELS + 2);
    }
  });

  if (target() === undefined) return;

  it('a stored field m|__proto__|misses read back from Redis is data: /stats, /stats/metrics, login', async () => {
    const prefix = uniquePrefix('stored');
    // What an earlier version (or another writer) left in the hash.
    await inspector!.redis.hSet(`${prefix}llm:{stats}`, {
      't|misses': '4',
      'm|__proto__|misses': '3',
      'm|constructor|hits': '2',
      'r|toString|misses': '1',
      __proto__: '5',
    });
    const app = await start(prefix);
    const http = request(app.getHttpServer());
    const { body } = await http.get('/stats').expect(200);
    expect(body.cache.byModel.__proto__).toMatchObject({ misses: 3 });
    expect(body.cache.byModel.constructor).toMatchObject({ hits: 2 });
    expect(body.cache.byRoute.toString).toMatchObject({ misses: 1 });
    expect(polluted()).toEqual([]);
    await http.get('/stats/metrics').expect(200);
    await loginWorks(app);
  });

  it(`instances sharing Redis give at most ${MAX_UNKNOWN_MODELS} unknown models a series, cluster-wide`, async () => {
    const prefix = uniquePrefix('shared');
    const [a, b] = [await start(prefix), await start(prefix)];
    for (let i = 0; i < 15; i++) a.get(LlmCacheStats).record('misses', `a-${i}`);
    for (let i = 0; i < 15; i++) b.get(LlmCacheStats).record('misses', `b-${i}`);
    expect(await a.get(LlmCacheStats).flush()).toBe(true);
    const { body } = await request(b.getHttpServer()).get('/stats/cache').expect(200);
    expect(Object.keys(body.byModel).length).toBe(MAX_UNKNOWN_MODELS + 1);
    expect(body.byModel[OTHER_MODEL].misses).toBe(30 - MAX_UNKNOWN_MODELS);
  });
});
