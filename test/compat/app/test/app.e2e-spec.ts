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
import { createApp } from './platform';

describe('nestjs-llm-kit, installed from its tarball', () => {
  let app: INestApplication;
  const http = () => request(app.getHttpServer());

  /** Logs `user` in and returns the session cookie to send back (`name=value`). */
  async function login(user: string): Promise<string> {
    const res = await http().post('/login').send({ user }).expect(200);
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    expect(cookies).toHaveLength(1);
    return cookies[0]!.split(';')[0]!;
  }

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = await createApp(moduleRef);
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
    const miss = await http().post('/chat').send(body).expect(200);
    const hit = await http().post('/chat').send(body).expect(200);
    expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(hit.body).toEqual(miss.body);
  });

  it('answers 429 past the limit, with the rate-limit headers and a problem+json body', async () => {
    await http().post('/limited').expect(200);
    const second = await http().post('/limited').expect(200);
    expect(second.headers['x-ratelimit-remaining']).toBe('0');
    const refused = await http().post('/limited').expect(429);
    // Nest 11's Express adapter resets an error answer's content type to application/json (and
    // logs a warning); Nest 12's keeps a `+json` type, as Fastify does.
    const nest11 = process.env.COMPAT_RUN?.startsWith('11-') === true;
    expect(refused.headers['content-type']).toMatch(
      nest11 ? /^application\/json/ : /^application\/problem\+json/,
    );
    expect(refused.body).toMatchObject({ status: 429 });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['x-ratelimit-limit']).toBe('2');
    expect(refused.headers['ratelimit-policy']).toContain('"compat"');
  });

  it('logs in, sends the session cookie back over plain http, and logs out', async () => {
    const cookie = await login('ada');
    expect((await http().get('/me').set('Cookie', cookie).expect(200)).body).toEqual({
      userId: 'ada',
    });
    await http().post('/logout').set('Cookie', cookie).expect(200);
    expect((await http().get('/me').set('Cookie', cookie).expect(200)).body).toEqual({
      userId: null,
    });
  });

  it("caches a wrapped SDK call made inside a request in the request's user partition", async () => {
    const question = `why ${Date.now()}?`;
    const ask = async (cookie: string) =>
      (await http().post('/ask').set('Cookie', cookie).send({ question }).expect(200)).body as {
        content: string;
        upstreamCalls: number;
      };
    const [grace, alan] = [await login('grace'), await login('alan')];
    const first = await ask(grace);
    expect(first.content).toBe(`answer to ${question}`);
    expect((await ask(grace)).upstreamCalls).toBe(first.upstreamCalls); // her entry: a hit
    expect((await ask(alan)).upstreamCalls).toBe(first.upstreamCalls + 1); // his own partition
  });

  it('reads /stats', async () => {
    const res = await http().get('/stats').expect(200);
    const report = res.body as StatsReport;
    expect(report.cache?.hits).toBeGreaterThanOrEqual(2);
    expect(report.sessions?.created).toBeGreaterThanOrEqual(3);
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
    const res = await http().get('/stats/metrics').expect(501);
    expect(JSON.stringify(res.body)).toContain('npm install prom-client');
  });
});
