import { Injectable, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { Test } from '@nestjs/testing';
import { StatsSeriesService } from '../src/stats/stats-series.service';
import type { SessionStatsSnapshot } from '../src/common/stats-shapes';
import { StatsSource, type StatsSnapshotSource } from '../src/common/stats-source';
import { REDIS_CLIENT } from '../src/redis/redis.constants';
import type { RedisConnection } from '../src/redis/redis.types';
import { StatsModule } from '../src/stats/stats.module';
import type { CacheEvent } from './support/stats-fixtures';
import { startTestApp } from './support/platform';
import { startStatsApp, statsApps } from './support/stats-app';
import { AdminHeaderGuard } from './support/admin-header.guard';
import { startSampleApp } from './support/sample-app';
import {
  inspectClient,
  ownRedis,
  testRedisOptions,
  uniquePrefix,
  untilReady,
} from './support/test-redis';

// The samplers sample "now" at start-up; the tests drive them with a clock a day ahead,
// aligned to a minute (a multiple of every interval used here).
const future = (): number => Math.ceil((Date.now() + 86_400_000) / 60_000) * 60_000;

const http = (app: INestApplication) => request(app.getHttpServer());

async function cacheTraffic(app: INestApplication, events: CacheEvent[]): Promise<void> {
  for (const event of events) await http(app).post('/fixture/cache').send(event).expect(204);
}
async function throttleTraffic(
  app: INestApplication,
  events: [policy: string, result: 'allowed' | 'rejected', tracker: string][],
): Promise<void> {
  for (const [policy, result, tracker] of events)
    await http(app).post('/fixture/throttle').send({ policy, result, tracker }).expect(204);
}
async function sessionTraffic(
  app: INestApplication,
  events: ('created' | 'destroyed' | 'revoked')[],
) {
  for (const event of events) await http(app).post('/fixture/sessions').send({ event }).expect(204);
}

const hit = (
  model: string,
  savingsUsd: number,
  tokensSaved: number,
  latencySavedMs: number,
): CacheEvent => ({
  result: 'hits',
  model,
  route: 'POST /llm/generate',
  savingsUsd,
  tokensSaved,
  latencySavedMs,
});
const miss = (model: string): CacheEvent => ({
  result: 'misses',
  model,
  route: 'POST /llm/generate',
});

describe('StatsModule', () => {
  const { start, closeAll } = statsApps();
  afterEach(closeAll);

  describe('two instances on one Redis', () => {
    let a: INestApplication;
    let b: INestApplication;
    beforeEach(async () => {
      const prefix = uniquePrefix('stats-sum');
      a = await start({ prefix, redis: testRedisOptions() });
      b = await start({ prefix, redis: testRedisOptions() });
      await cacheTraffic(a, [hit('gpt-4o', 1.25, 1000, 2000), miss('gpt-4o'), miss('gpt-4o-mini')]);
      await cacheTraffic(b, [
        hit('gpt-4o', 0.25, 500, 1500),
        hit('gpt-4o-mini', 0.01, 300, 500),
        { result: 'coalesced', model: 'gpt-4o', route: 'POST /llm/chat' },
        { result: 'bypassed', model: 'gpt-4o', route: 'POST /llm/chat' },
      ]);
      await throttleTraffic(a, [
        ['llm', 'allowed', '10.0.0.1'],
        ['llm', 'rejected', '10.0.0.1'],
      ]);
      await throttleTraffic(b, [
        ['llm', 'rejected', '10.0.0.1'],
        ['llm', 'rejected', '10.0.0.2'],
        ['global', 'allowed', '10.0.0.3'],
      ]);
      await sessionTraffic(a, ['created', 'created', 'revoked']);
      await sessionTraffic(b, ['created', 'destroyed']);
    });

    it('GET /stats on either instance shows the sum of both', async () => {
      const [fromA, fromB] = await Promise.all(
        [a, b].map((app) => http(app).get('/stats').expect(200)),
      );
      for (const { body } of [fromA!, fromB!]) {
        expect(body.cache).toMatchObject({
          hits: 3,
          misses: 2,
          coalesced: 1,
          bypassed: 1,
          tokensSaved: 1800,
        });
        expect(body.cache.estimatedSavingsUsd).toBeCloseTo(1.51, 10);
        expect(body.throttling.byPolicy).toEqual({
          llm: { allowed: 1, rejected: 3 },
          global: { allowed: 1, rejected: 0 },
        });
        expect(body.sessions).toEqual({ active: 1, created: 3, destroyed: 1, revoked: 1 });
        expect(body.unavailable).toEqual([]);
        expect(body.process.uptimeS).toEqual(expect.any(Number));
        expect(body.process.memory.rss).toBeGreaterThan(0);
      }
      expect(fromA!.body.cache).toEqual(fromB!.body.cache);
    });

    it('GET /stats/cache has the seed shape plus savings, tokens, latency and breakdowns', async () => {
      const { body } = await http(b).get('/stats/cache').expect(200);
      expect(body).toMatchObject({
        hits: 3,
        misses: 2,
        hitRate: 50, // 3 / (3 + 2 + 1)
        estimatedSavings: '$1.51',
        tokensSaved: 1800,
        latencySavedMs: 4000,
        coalesced: 1,
        bypassed: 1,
      });
      expect(body.byModel['gpt-4o']).toMatchObject({ hits: 2, misses: 1, tokensSaved: 1500 });
      expect(body.byModel['gpt-4o-mini']).toMatchObject({ hits: 1, misses: 1, tokensSaved: 300 });
      expect(body.byRoute['POST /llm/generate']).toMatchObject({ hits: 3, misses: 2 });
      expect(body.byRoute['POST /llm/chat']).toMatchObject({ coalesced: 1, bypassed: 1 });
    });

    it('GET /stats/throttling lists trackers by rejections, hashed, and /stats/sessions the counts', async () => {
      const { body } = await http(a).get('/stats/throttling').expect(200);
      expect(body.topRejected.map((t: { rejections: number }) => t.rejections)).toEqual([2, 1]);
      expect(JSON.stringify(body)).not.toContain('10.0.0.');
      await http(a)
        .get('/stats/sessions')
        .expect(200, { active: 1, created: 3, destroyed: 1, revoked: 1 });
    });

    it('records one time-series point per interval for the cluster, shared by both', async () => {
      const sa = a.get(StatsSeriesService);
      const sb = b.get(StatsSeriesService);
      const t0 = future();
      await sa.clear();
      expect(await sa.sample(t0)).toBe(true);
      expect(await sb.sample(t0 + 1)).toBe(false); // same interval: already recorded by a
      await cacheTraffic(b, [hit('gpt-4o', 1, 10, 10)]);
      expect(await sb.sample(t0 + sb.intervalMs)).toBe(true);
      const { body } = await http(a).get('/stats/series').expect(200);
      expect(body.intervalMs).toBe(10_000);
      expect(body.points.map((p: { t: number; hits: number }) => [p.t, p.hits])).toEqual([
        [t0, 3],
        [t0 + 10_000, 4],
      ]);
      expect(body.points[1]).toMatchObject({
        misses: 2,
        coalesced: 1,
        allowed: 2,
        rejected: 3,
        sessionsActive: 1,
      });
    });
  });

  it('keeps the series bounded to seriesPoints', async () => {
    const prefix = uniquePrefix('stats-bounded');
    const app = await start({
      prefix,
      redis: testRedisOptions(),
      stats: { seriesPoints: 3, seriesIntervalMs: 1000 },
    });
    const series = app.get(StatsSeriesService);
    await series.clear();
    const t0 = future();
    for (let i = 0; i < 5; i++) expect(await series.sample(t0 + i * 1000)).toBe(true);
    const points = await series.points();
    expect(points.map((p) => p.t)).toEqual([t0 + 2000, t0 + 3000, t0 + 4000]);
    const inspect = await inspectClient();
    try {
      expect(await inspect.redis.lLen(`${prefix}{series}:points`)).toBe(3);
    } finally {
      inspect.close();
    }
  });

  it('works without Redis: counts in process, series in memory', async () => {
    const app = await start({ prefix: uniquePrefix('stats-mem') });
    await cacheTraffic(app, [hit('gpt-4o', 0.5, 100, 100), miss('gpt-4o')]);
    await http(app)
      .get('/stats/cache')
      .expect(200)
      .expect((res) => expect(res.body).toMatchObject({ hits: 1, misses: 1, hitRate: 50 }));
    const series = app.get(StatsSeriesService);
    const t0 = future();
    expect(await series.sample(t0)).toBe(true);
    expect(await series.sample(t0 + 1)).toBe(false);
    const { body } = await http(app).get('/stats/series').expect(200);
    expect(body.points.at(-1)).toMatchObject({ t: t0, hits: 1, misses: 1 });
  });

  it('reports a section whose module is absent as null, and its route as 404 saying what to import', async () => {
    const app = await start({ prefix: uniquePrefix('stats-missing'), sources: ['cache'] });
    const { body } = await http(app).get('/stats').expect(200);
    expect(body.cache).toMatchObject({ hits: 0 });
    expect(body.throttling).toBeNull();
    expect(body.sessions).toBeNull();
    expect(body.unavailable).toEqual([]);
    const res = await http(app).get('/stats/throttling').expect(404);
    expect(res.body.message).toContain('ThrottlingModule');
  });

  it('leaves out the sections the sections option does not list', async () => {
    const app = await start({
      prefix: uniquePrefix('stats-sections'),
      stats: { sections: ['sessions'] },
    });
    const { body } = await http(app).get('/stats').expect(200);
    expect(Object.keys(body).sort()).toEqual(['process', 'sessions', 'unavailable']);
    await http(app).get('/stats/cache').expect(404);
  });

  it('mounts at a configured path, and two apps in one process keep their own paths', async () => {
    const one = await start({
      prefix: uniquePrefix('stats-path1'),
      stats: { path: '/admin/stats/' },
    });
    const two = await start({ prefix: uniquePrefix('stats-path2'), stats: { path: 'ops' } });
    await http(one).get('/admin/stats').expect(200);
    await http(one).get('/admin/stats/cache').expect(200);
    await http(one).get('/stats').expect(404);
    await http(one).get('/ops').expect(404);
    await http(two).get('/ops/sessions').expect(200);
    await http(two).get('/admin/stats').expect(404);
  });

  describe('reset', () => {
    it('is refused with 403 when the module has neither token nor guard, and zeroes nothing', async () => {
      const app = await start({
        prefix: uniquePrefix('stats-reset-open'),
        redis: testRedisOptions(),
      });
      await cacheTraffic(app, [miss('gpt-4o')]);
      const res = await http(app).post('/stats/reset').expect(403);
      expect(res.body.message).toContain('token');
      await http(app)
        .get('/stats/cache')
        .expect(200)
        .expect((r) => expect(r.body.misses).toBe(1));
    });

    it('zeroes every section and the series, cluster-wide, when protected', async () => {
      const prefix = uniquePrefix('stats-reset');
      const token = 'a-long-enough-stats-token';
      const a = await start({ prefix, redis: testRedisOptions(), stats: { token } });
      const b = await start({ prefix, redis: testRedisOptions(), stats: { token } });
      await cacheTraffic(a, [miss('gpt-4o'), hit('gpt-4o', 1, 1, 1)]);
      await throttleTraffic(a, [['llm', 'rejected', 'x']]);
      await sessionTraffic(b, ['created']);
      expect(await a.get(StatsSeriesService).sample(future())).toBe(true);
      await http(b)
        .post('/stats/reset')
        .auth(token, { type: 'bearer' })
        .expect(200, {
          reset: ['cache', 'throttling', 'sessions'],
        });
      const { body } = await http(a).get('/stats').auth(token, { type: 'bearer' }).expect(200);
      expect(body.cache).toMatchObject({
        hits: 0,
        misses: 0,
        estimatedSavings: '$0.00',
        byModel: {},
      });
      expect(body.throttling).toEqual({ byPolicy: {}, topRejected: [], budgets: {} });
      expect(body.sessions).toEqual({ active: 0, created: 0, destroyed: 0, revoked: 0 });
      expect(await b.get(StatsSeriesService).points()).toEqual([]);
    });
  });

  describe('protected by a token', () => {
    const token = 'stats-token-0123456789';
    let app: INestApplication;
    beforeEach(async () => {
      app = await start({ prefix: uniquePrefix('stats-token'), stats: { token } });
    });

    it.each([
      '/stats',
      '/stats/cache',
      '/stats/throttling',
      '/stats/sessions',
      '/stats/series',
      '/stats/metrics',
    ])('GET %s answers 401 without the token or with a wrong one, 200 with it', async (path) => {
      const res = await http(app).get(path).expect(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="stats"');
      await http(app).get(path).auth('wrong-token-0123456789', { type: 'bearer' }).expect(401);
      await http(app).get(path).set('authorization', token).expect(401);
      await http(app).get(path).auth(token, { type: 'bearer' }).expect(200);
    });

    it('each 401 says what was wrong with the Authorization header, never echoing it', async () => {
      const missing = await http(app).get('/stats').expect(401);
      expect(missing.body.message).toMatch(/no Authorization header was sent/);
      const notBearer = await http(app).get('/stats').set('authorization', token).expect(401);
      expect(notBearer.body.message).toMatch(/not of the form "Bearer <token>"/);
      const wrong = await http(app)
        .get('/stats')
        .auth('wrong-token-0123456789', { type: 'bearer' })
        .expect(401);
      expect(wrong.body.message).toMatch(/does not match/);
      for (const res of [notBearer, wrong]) {
        expect(JSON.stringify(res.body)).not.toContain(token);
        expect(JSON.stringify(res.body)).not.toContain('wrong-token-0123456789');
      }
    });

    it('POST /stats/reset answers 401 without the token', async () => {
      await http(app).post('/stats/reset').expect(401);
    });

    it('serves the dashboard page (which holds no figures) without the token', async () => {
      const res = await http(app).get('/stats/dashboard').expect(200);
      expect(res.text).not.toContain(token);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      // Inline code runs only with this response's nonce; no CDN, no other origin.
      const nonce = /script-src 'nonce-([^']+)'/.exec(
        String(res.headers['content-security-policy']),
      )?.[1];
      expect(nonce).toBeTruthy();
      expect(res.text).toContain(`<script nonce="${nonce}">`);
      expect(res.text).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\//);
    });
  });

  it('applies a guard option to every route, reset included', async () => {
    const app = await start({
      prefix: uniquePrefix('stats-guard'),
      stats: { guard: AdminHeaderGuard },
      providers: [AdminHeaderGuard],
    });
    await http(app).get('/stats').expect(403);
    await http(app).get('/stats/dashboard').expect(403);
    await http(app).get('/stats').set('x-admin', 'yes').expect(200);
    await http(app).post('/stats/reset').set('x-admin', 'yes').expect(200);
  });

  it('answers while Redis is down (sections null and unavailable, section routes 503) and recovers when it returns', async () => {
    const server = await ownRedis();
    try {
      const token = 'redis-down-token-0123456789';
      const app = await start({
        prefix: uniquePrefix('stats-down'),
        redis: server.target,
        stats: { token },
      });
      const http = (a: INestApplication) => ({
        get: (path: string) => request(a.getHttpServer()).get(path).auth(token, { type: 'bearer' }),
        post: (path: string) =>
          request(a.getHttpServer()).post(path).auth(token, { type: 'bearer' }),
      });
      await cacheTraffic(app, [miss('gpt-4o')]);
      await server.stop();
      const { body } = await http(app).get('/stats').expect(200);
      expect(body).toMatchObject({ cache: null, throttling: null, sessions: null });
      expect(body.unavailable).toEqual(['cache', 'throttling', 'sessions']);
      const res = await http(app).get('/stats/cache').expect(503);
      expect(res.body.message).toContain('could not be read');
      await http(app).get('/stats/series').expect(503);
      const metrics = await http(app).get('/stats/metrics').expect(200);
      expect(metrics.text).toContain('llm_stats_source_up{section="cache"} 0');
      await http(app).post('/stats/reset').expect(503);

      // Back to figures once Redis returns (empty: the server kept nothing).
      await server.restart();
      await untilReady(app.get<RedisConnection>(REDIS_CLIENT));
      const back = await http(app).get('/stats').expect(200);
      expect(back.body.unavailable).toEqual([]);
      expect(back.body.cache).toMatchObject({ misses: 0 });
    } finally {
      await server.stop();
    }
  });
});

describe('StatsModule configuration', () => {
  it('forRootAsync takes the options from a factory and the path beside it', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        StatsModule.forRootAsync({
          path: 'async-stats',
          useFactory: () => ({ token: 'from-a-factory-0123456789' }),
        }),
      ],
    }).compile();
    const app = await startTestApp(moduleRef);
    try {
      await request(app.getHttpServer()).get('/async-stats').expect(401);
      await request(app.getHttpServer())
        .get('/async-stats')
        .auth('from-a-factory-0123456789', { type: 'bearer' })
        .expect(200);
    } finally {
      await app.close();
    }
  });

  it('refuses to start with a bad option, saying how to fix it', async () => {
    await expect(
      startStatsApp({ prefix: uniquePrefix('stats-bad'), stats: { token: 'too-short' } }),
    ).rejects.toThrow(/token must be a string of at least 16 characters.*openssl rand/);
    expect(() => StatsModule.forRoot({ path: 'bad path' })).toThrow(/StatsModule path/);
  });
});

@StatsSource('sessions')
@Injectable()
class HangingSessionStats implements StatsSnapshotSource<SessionStatsSnapshot> {
  snapshot(): Promise<SessionStatsSnapshot> {
    return new Promise(() => undefined);
  }
  async reset(): Promise<void> {}
}

describe('StatsModule edge cases', () => {
  it('reports a source that does not answer within snapshotTimeoutMs as unavailable', async () => {
    const app = await startStatsApp({
      prefix: uniquePrefix('stats-hang'),
      sources: ['cache'],
      providers: [HangingSessionStats],
      stats: { snapshotTimeoutMs: 50 },
    });
    try {
      const { body } = await request(app.getHttpServer()).get('/stats').expect(200);
      expect(body.sessions).toBeNull();
      expect(body.unavailable).toEqual(['sessions']);
      expect(body.cache).toMatchObject({ hits: 0 });
      await request(app.getHttpServer()).get('/stats/sessions').expect(503);
    } finally {
      await app.close();
    }
  });

  it('turns the dashboard and the series off on request', async () => {
    const app = await startStatsApp({
      prefix: uniquePrefix('stats-off'),
      stats: { dashboard: false, seriesIntervalMs: 0 },
    });
    try {
      await request(app.getHttpServer()).get('/stats/dashboard').expect(404);
      await request(app.getHttpServer()).get('/stats/series').expect(404);
      expect(await app.get(StatsSeriesService).sample(Date.now())).toBe(false);
    } finally {
      await app.close();
    }
  });

  it('is what the sample app serves at /stats, protected by STATS_TOKEN', async () => {
    const app = await startSampleApp({ statsToken: 'sample-stats-token-0123' });
    try {
      await request(app.getHttpServer()).get('/stats').expect(401);
      const { body } = await request(app.getHttpServer())
        .get('/stats')
        .auth('sample-stats-token-0123', { type: 'bearer' })
        .expect(200);
      // The sample imports CachingModule, ThrottlingModule and SessionModule: their sections
      // are found by discovery.
      expect(body).toMatchObject({
        cache: { hits: 0, misses: 0, hitRate: 0, estimatedSavings: '$0.00' },
        throttling: { topRejected: [] },
        sessions: { created: 0 },
        unavailable: [],
      });
      await request(app.getHttpServer()).get('/stats/dashboard').expect(200);
    } finally {
      await app.close();
    }
  });
});
