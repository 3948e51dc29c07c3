import request from 'supertest';
import { REDIS_CLIENT, type RedisConnection } from '../src';
import { inspectClient, ownRedis, uniquePrefix, untilReady } from './support/test-redis';
import { throttledApp } from './throttling-test-app';

describe('ThrottlingModule when Redis goes away', () => {
  it('applies open / closed / local per policy when Redis is killed mid-load, and recovers without a restart', async () => {
    const server = await ownRedis();
    const keyPrefix = uniquePrefix('throttle-down');
    const app = await throttledApp({
      // Commands fail at once while Redis is away (no offline queue): the bounds are the kit's
      // defaults, so a slow reply on a loaded machine is not taken for the outage.
      throttling: { keyPrefix, trustProxy: 1 },
      redis: { ...server.target, maxReconnectDelayMs: 50 },
    });
    const http = request(app.getHttpServer());
    const get = (route: string, client: string) =>
      http.get(`/${route}`).set('X-Forwarded-For', client);

    for (const route of ['p-open', 'p-closed', 'p-local']) await get(route, '1.1.1.1').expect(200);

    // Mid-load: requests in flight while the server is killed.
    const load = Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        get(['p-open', 'p-closed', 'p-local'][i % 3]!, `10.0.0.${i % 3}`),
      ),
    );
    await server.stop();
    const during = await load;
    for (const [i, res] of during.entries()) {
      const route = ['p-open', 'p-closed', 'p-local'][i % 3];
      const allowed =
        route === 'p-open' ? [200, 429] : route === 'p-closed' ? [200, 429, 503] : [200, 429];
      expect(allowed).toContain(res.status);
    }

    // Redis is down: each policy as named.
    for (let i = 0; i < 10; i++) await get('p-open', '2.2.2.2').expect(200);
    const closed = await get('p-closed', '2.2.2.2').expect(503);
    expect(closed.headers['content-type']).toMatch(/^application\/problem\+json/);
    const local = [];
    for (let i = 0; i < 8; i++) local.push((await get('p-local', '2.2.2.2')).status);
    expect(local).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);

    // Redis is back (empty: no persistence); the same app uses it again.
    await server.restart();
    await untilReady(app.get<RedisConnection>(REDIS_CLIENT));
    await get('p-closed', '3.3.3.3').expect(200);
    await get('p-local', '3.3.3.3').expect(200);
    const inspect = await inspectClient(server.target);
    const limitKeys = (await inspect.keys(`${keyPrefix}*`)).filter((k) => !k.includes('{stats}'));
    expect(limitKeys.sort()).toEqual([
      expect.stringMatching(/:p-closed$/),
      expect.stringMatching(/:p-local$/),
    ]);
    inspect.close();
    await app.close();
    await server.stop();
  });

  it('does not wait for a stalled Redis past redisTimeoutMs: the failure policy answers', async () => {
    const server = await ownRedis();
    const app = await throttledApp({
      throttling: { keyPrefix: uniquePrefix('throttle-stall'), redisTimeoutMs: 200 },
      redis: { ...server.target, commandTimeoutMs: 5000 },
    });
    const http = request(app.getHttpServer());
    const healthy = await http.get('/p-open').expect(200);
    expect(healthy.headers['ratelimit-policy']).toBe('"p-open";q=5;w=3600');
    const staller = await inspectClient(server.target);
    // A script that spins for 1.5 s blocks every other client of the server meanwhile (on
    // every master of a cluster).
    const spin =
      "local s = redis.call('TIME') repeat local n = redis.call('TIME') " +
      'until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 1500000 return 1';
    const stall = Promise.all(staller.nodes.map((node) => node.eval(spin)));
    // Redis is connected but silent for 1.5 s: the open policy lets the request through
    // without its figures (no RateLimit headers), the closed one answers 503.
    const open = await http.get('/p-open').expect(200);
    expect(open.headers['ratelimit-policy']).toBeUndefined();
    await http.get('/p-closed').expect(503);
    await stall;
    staller.close();
    await app.close();
    await server.stop();
  });
});
