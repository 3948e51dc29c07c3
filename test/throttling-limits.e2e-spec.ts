import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { ThrottlingStats } from '../src';
import { testPlatform } from './support/platform';
import { inspectClient, ownRedis, testRedisOptions, uniquePrefix } from './support/test-redis';
import { HOUR_MS, throttledApp } from './throttling-test-app';

const policies = {
  first: { limit: 5, ttlMs: HOUR_MS },
  second: { limit: 2, ttlMs: HOUR_MS },
  a: { limit: 1000, ttlMs: HOUR_MS },
  b: { limit: 1000, ttlMs: HOUR_MS },
  c: { limit: 1000, ttlMs: HOUR_MS },
};

async function close(app: INestApplication): Promise<void> {
  (app.getHttpServer() as import('node:http').Server).closeAllConnections();
  await app.close();
}

async function listen(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
}

describe('ThrottlingModule request limits (Redis)', () => {
  it('admits exactly 100 of 1000 concurrent requests over two app instances on one Redis, 900 get 429 with headers', async () => {
    const keyPrefix = uniquePrefix('throttle-burst');
    const apps = await Promise.all(
      [0, 1].map(() =>
        throttledApp({ throttling: { keyPrefix, policies }, redis: testRedisOptions() }),
      ),
    );
    const urls = await Promise.all(apps.map(listen));
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => fetch(`${urls[i % 2]}/burst`)),
    );
    const admitted = responses.filter((r) => r.status === 200);
    const rejected = responses.filter((r) => r.status === 429);
    expect(admitted).toHaveLength(100);
    expect(rejected).toHaveLength(900);
    // Both instances admitted some: the limit is shared, not per instance.
    expect(new Set(admitted.map((r) => r.url.split('/burst')[0])).size).toBe(2);
    for (const res of rejected) {
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(res.headers.get('x-ratelimit-limit')).toBe('100');
      expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
      expect(res.headers.get('ratelimit-policy')).toBe('"burst";q=100;w=3600');
      expect(res.headers.get('ratelimit')).toMatch(/^"burst";r=0;t=\d+$/);
    }
    const body = (await rejected[0]!.json()) as {
      status: number;
      policies: { name: string }[];
      detail: string;
    };
    expect(body.status).toBe(429);
    expect(body.policies.map((p) => p.name)).toEqual(['burst']);
    const remaining = admitted
      .map((r) => Number(r.headers.get('x-ratelimit-remaining')))
      .sort((x, y) => x - y);
    expect(remaining).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await Promise.all(
      responses.map((r) => (r.body && !r.body.locked ? r.body.cancel() : undefined)),
    );
    await Promise.all(apps.map((app) => close(app)));
  });

  it('does not consume the first limit when the second rejects (all or nothing)', async () => {
    const app = await throttledApp({
      throttling: { keyPrefix: uniquePrefix('throttle-aon'), policies },
      redis: testRedisOptions(),
    });
    const http = request(app.getHttpServer());
    await http.get('/two').expect(200);
    await http.get('/two').expect(200);
    const third = await http.get('/two').expect(429);
    expect(third.body.policies.map((p: { name: string }) => p.name)).toEqual(['second']);
    // 'first' (5) was spent twice, not three times: /one admits exactly 3 more.
    for (let i = 0; i < 3; i++) await http.get('/one').expect(200);
    const over = await http.get('/one').expect(429);
    expect(over.body.policies.map((p: { name: string }) => p.name)).toEqual(['first']);
    await close(app);
  });

  it('keeps all-or-nothing when the limits of a request count different trackers (other hash tags, other cluster slots)', async () => {
    const app = await throttledApp({
      // closed: a cross-slot error would answer 503 instead of silently falling back to memory.
      throttling: { keyPrefix: uniquePrefix('throttle-mixed'), onRedisError: 'closed' },
      redis: testRedisOptions(),
    });
    const http = request(app.getHttpServer());
    // 'first' (5) counts by IP, 'user-pair' (2) by the x-user header: two hash tags.
    await http.get('/mixed').set('x-user', 'u1').expect(200);
    await http.get('/mixed').set('x-user', 'u1').expect(200);
    const third = await http.get('/mixed').set('x-user', 'u1').expect(429);
    expect(third.body.policies.map((p: { name: string }) => p.name)).toEqual(['user-pair']);
    // The rejected request's admission by 'first' was refunded: 3 of 5 remain.
    for (let i = 0; i < 3; i++) await http.get('/one').expect(200);
    await http.get('/one').expect(429);
    await close(app);
  });

  it('writes both header styles for every policy of a route, and none on skipped routes', async () => {
    const app = await throttledApp({
      throttling: {
        keyPrefix: uniquePrefix('throttle-hdr'),
        policies,
        global: { limit: 200, ttlMs: 60_000 },
      },
      redis: testRedisOptions(),
    });
    const http = request(app.getHttpServer());
    const res = await http.get('/two').expect(200);
    expect(res.headers['ratelimit-policy']).toBe(
      '"global";q=200;w=60, "first";q=5;w=3600, "second";q=2;w=3600',
    );
    expect(res.headers['ratelimit']).toMatch(
      // t: until the oldest counted request leaves its window (the first unit comes back).
      /^"global";r=199;t=60, "first";r=4;t=3600, "second";r=1;t=3600$/,
    );
    // X-RateLimit-* report the tightest policy (fewest remaining).
    expect(res.headers['x-ratelimit-limit']).toBe('2');
    expect(res.headers['x-ratelimit-remaining']).toBe('1');
    const health = await http.get('/health').expect(200);
    expect(health.headers['ratelimit-policy']).toBeUndefined();
    expect(health.headers['x-ratelimit-limit']).toBeUndefined();
    const open = await http.get('/open').expect(200);
    expect(open.headers['ratelimit-policy']).toBe('"global";q=200;w=60');
    await close(app);
  });

  it('puts the custom message in the 429 body and calls onLimitReached with hashed trackers', async () => {
    const seen: { policies: string[]; tracker: string }[] = [];
    const app = await throttledApp({
      throttling: {
        keyPrefix: uniquePrefix('throttle-msg'),
        policies,
        message: 'Slow down, please.',
        onLimitReached: (_context, detail) => void seen.push(detail),
      },
      redis: testRedisOptions(),
    });
    const http = request(app.getHttpServer());
    await http.get('/by-ip').expect(200);
    const res = await http.get('/by-ip').expect(429);
    expect(res.body.detail).toBe('Slow down, please.');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.policies).toEqual(['by-ip']);
    expect(seen[0]!.tracker).toMatch(/^[0-9a-f]{32}$/);
    await close(app);
  });

  it('uses exactly one Redis round trip (one EVALSHA, nothing else) per request with 3 named throttlers + global', async () => {
    const server = await ownRedis();
    const app = await throttledApp({
      throttling: {
        keyPrefix: uniquePrefix('throttle-rt'),
        policies,
        global: { limit: 10_000, ttlMs: 60_000 },
        statsFlushIntervalMs: 3_600_000,
      },
      redis: server.target,
    });
    const http = request(app.getHttpServer());
    await http.get('/three').expect(200); // loads the script (NOSCRIPT -> EVAL) once
    // MONITOR shows every command a client sends (on every master of a cluster); commands a
    // script runs are marked [.. lua]. Both inspectors connect first (a cluster client's
    // connection sends CLUSTER SLOTS).
    const marker = await inspectClient(server.target);
    const monitor = await inspectClient(server.target);
    const lines: string[] = [];
    await Promise.all(monitor.nodes.map((node) => node.monitor((line) => lines.push(line))));
    for (let i = 0; i < 40; i++) await http.get('/three').expect(200);
    await Promise.all(marker.nodes.map((node) => node.echo('end-of-run')));
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        const ends = lines.filter((l) => l.includes('end-of-run')).length;
        if (ends === marker.nodes.length) resolve(clearInterval(check));
      }, 5);
    });
    const fromClients = lines.filter((l) => !/\[\d+ lua\]/.test(l) && !l.includes('end-of-run'));
    expect(fromClients).toHaveLength(40);
    expect(fromClients.every((l) => /"evalsha"/i.test(l))).toBe(true);
    monitor.close();
    marker.close();
    await close(app);
    await server.stop();
  });

  it('counts allowed and rejected per policy, blaming only the policy that rejected, and the top rejected trackers (hashed) in stats', async () => {
    const app = await throttledApp({
      throttling: { keyPrefix: uniquePrefix('throttle-stats'), policies },
      redis: testRedisOptions(),
    });
    const stats = app.get(ThrottlingStats);
    await stats.reset();
    const http = request(app.getHttpServer());
    for (let i = 0; i < 3; i++) await http.get('/two');
    const snapshot = await stats.snapshot();
    // The third request broke only 'second': 'first' is not blamed for it.
    expect(snapshot.byPolicy).toEqual({
      first: { allowed: 2, rejected: 0 },
      second: { allowed: 2, rejected: 1 },
    });
    expect(snapshot.topRejected).toHaveLength(1);
    expect(snapshot.topRejected[0]!.rejections).toBe(1);
    expect(snapshot.topRejected[0]!.tracker).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(snapshot)).not.toContain('127.0.0.1');
    await stats.reset();
    expect(await stats.snapshot()).toEqual({ byPolicy: {}, topRejected: [], budgets: {} });
    await close(app);
  });
});

describe('ThrottlingModule request limits (embedded memory store)', () => {
  it('enforces the same limits without Redis', async () => {
    const app = await throttledApp({ throttling: { policies } });
    const http = request(app.getHttpServer());
    await http.get('/two').expect(200);
    await http.get('/two').expect(200);
    await http.get('/two').expect(429);
    for (let i = 0; i < 3; i++) await http.get('/one').expect(200);
    await http.get('/one').expect(429);
    const snapshot = await app.get(ThrottlingStats).snapshot();
    // /two's third request was rejected by 'second' alone; /one's fourth by 'first'.
    expect(snapshot.byPolicy.first).toEqual({ allowed: 5, rejected: 1 });
    await close(app);
  });
});

describe("a body the platform's parser refuses (before any guard)", () => {
  // The platforms differ here, and each answers as it does for any route: Express's body-parser
  // (100 kB limit) or Fastify's content-type parser (1 MiB bodyLimit). Neither reaches the guard.
  const answers = {
    express: {
      malformed: { statusCode: 400, error: 'Bad Request', message: 'Unexpected end of JSON input' },
      tooLarge: { statusCode: 413, message: 'request entity too large' },
      limitBytes: 100 * 1024,
    },
    fastify: {
      malformed: {
        statusCode: 400,
        message: "Body is not valid JSON but content-type is set to 'application/json'",
      },
      tooLarge: { statusCode: 413, message: 'Request body is too large' },
      limitBytes: 1024 * 1024,
    },
  }[testPlatform()];

  it('answers 400 / 413 as the platform does, and charges neither to the route limit', async () => {
    const app = await throttledApp({
      throttling: {
        keyPrefix: uniquePrefix('throttle-parser'),
        policies: { llm: { limit: 5, ttlMs: HOUR_MS } },
      },
    });
    const http = request(app.getHttpServer());
    const malformed = await http
      .post('/llm')
      .set('Content-Type', 'application/json')
      .send('{"prompt": ');
    expect([malformed.status, malformed.body]).toEqual([400, answers.malformed]);
    const tooLarge = await http.post('/llm').send({ prompt: 'x'.repeat(answers.limitBytes) });
    expect([tooLarge.status, tooLarge.body]).toEqual([413, answers.tooLarge]);
    for (const refused of [malformed, tooLarge]) expect(refused.headers.ratelimit).toBeUndefined();
    // The first request the guard sees finds the whole limit.
    const ok = await http.post('/llm').send({ prompt: 'ok' }).expect(200);
    expect(ok.headers.ratelimit).toBe('"llm";r=4;t=3600');
    await close(app);
  });
});
