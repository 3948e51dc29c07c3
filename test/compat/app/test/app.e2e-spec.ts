import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  LlmCacheService,
  RedisHealthService,
  SessionService,
  StatsService,
  ThrottlingStats,
} from 'nestjs-llm-kit';
import { AppModule, type StatsReport } from '../src/app.module';

describe('nestjs-llm-kit, installed from its tarball', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('boots every module', () => {
    for (const service of [LlmCacheService, ThrottlingStats, SessionService, StatsService]) {
      expect(app.get(service)).toBeInstanceOf(service);
    }
    if (process.env.REDIS_URL) expect(app.get(RedisHealthService)).toBeDefined();
  });

  it('answers the second identical LLM call from the cache', async () => {
    const body = { model: 'gpt-4o-mini', prompt: `hi ${Date.now()}` };
    const miss = await request(app.getHttpServer()).post('/chat').send(body).expect(200);
    const hit = await request(app.getHttpServer()).post('/chat').send(body).expect(200);
    expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(hit.body).toEqual(miss.body);
  });

  it('logs in and sends the session cookie back over plain http', async () => {
    const login = await request(app.getHttpServer())
      .post('/login')
      .send({ user: 'ada' })
      .expect(200);
    const cookies = ([] as string[]).concat(login.headers['set-cookie'] ?? []);
    expect(cookies).toHaveLength(1);
    const cookie = cookies[0]!.split(';')[0]!;
    const me = await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    expect(me.body).toEqual({ userId: 'ada' });
  });

  it('reads /stats', async () => {
    const res = await request(app.getHttpServer()).get('/stats').expect(200);
    const report = res.body as StatsReport;
    expect(report.cache?.hits).toBeGreaterThanOrEqual(1);
    expect(report.sessions?.created).toBeGreaterThanOrEqual(1);
  });

  it('is installed without @opentelemetry/api: the optional peer cannot be resolved in this app', () => {
    let code: unknown;
    try {
      require.resolve('@opentelemetry/api');
    } catch (error) {
      code = (error as { code?: unknown }).code;
    }
    expect(code).toBe('MODULE_NOT_FOUND');
  });

  it('runs without the optional peers: /stats/metrics says how to get prom-client', async () => {
    const res = await request(app.getHttpServer()).get('/stats/metrics').expect(501);
    expect(JSON.stringify(res.body)).toContain('npm install prom-client');
  });
});
