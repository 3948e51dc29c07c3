import request from 'supertest';
import { ThrottlingOptionsError, ThrottlingStats } from '../src';
import { inspectClient, testRedisOptions, uniquePrefix } from './support/test-redis';
import { HOUR_MS, throttledApp } from './throttling-test-app';

describe('ThrottlingModule trackers', () => {
  it('ignores a spoofed X-Forwarded-For when no proxy is trusted', async () => {
    const app = await throttledApp({
      throttling: { keyPrefix: uniquePrefix('throttle-xff0') },
      redis: testRedisOptions(),
    });
    const http = request(app.getHttpServer());
    await http.get('/by-ip').set('X-Forwarded-For', '1.1.1.1').expect(200);
    // A new spoofed address does not make a new tracker: still the socket peer.
    await http.get('/by-ip').set('X-Forwarded-For', '2.2.2.2').expect(429);
    await http.get('/by-ip').expect(429);
    await app.close();
  });

  it('with one trusted hop uses the address that proxy appended, whatever the client put before it', async () => {
    const app = await throttledApp({
      throttling: { keyPrefix: uniquePrefix('throttle-xff1'), trustProxy: 1 },
      redis: testRedisOptions(),
    });
    const http = request(app.getHttpServer());
    await http.get('/by-ip').set('X-Forwarded-For', '9.9.9.9, 1.1.1.1').expect(200);
    await http.get('/by-ip').set('X-Forwarded-For', '8.8.8.8, 1.1.1.1').expect(429);
    await http.get('/by-ip').set('X-Forwarded-For', '2.2.2.2').expect(200);
    // IPv6 clients of one /56 share a tracker; another /56 is another client.
    await http.get('/by-ip').set('X-Forwarded-For', '2001:db8:0:1a00::1').expect(200);
    await http.get('/by-ip').set('X-Forwarded-For', '2001:db8:0:1aff:ffff::2').expect(429);
    await http.get('/by-ip').set('X-Forwarded-For', '2001:db8:0:1b00::1').expect(200);
    await app.close();
  });

  it.each([
    ['trusts', true],
    ['does not trust', false],
  ])(
    "a tracker function reading req.ip follows the platform's setting: when it %s the proxy",
    async (_, trusted) => {
      const app = await throttledApp({
        throttling: {
          keyPrefix: uniquePrefix('throttle-req-ip'),
          policies: { first: { limit: 1, ttlMs: HOUR_MS, by: (req) => req.ip } },
        },
        redis: testRedisOptions(),
        platformTrustsProxy: trusted,
      });
      const http = request(app.getHttpServer());
      await http.get('/one').set('X-Forwarded-For', '1.1.1.1').expect(200);
      // Trusted, the header names the client (another one here); else the peer, spoofing nothing.
      await http
        .get('/one')
        .set('X-Forwarded-For', '2.2.2.2')
        .expect(trusted ? 200 : 429);
      await http.get('/one').set('X-Forwarded-For', '1.1.1.1').expect(429);
      await app.close();
    },
  );

  it.each([
    ['user', '/by-user', 'x-test-user'],
    ['session', '/by-session', 'x-test-session'],
    ['apiKey', '/by-api-key', 'x-api-key'],
  ])(
    'counts the %s tracker per identity and falls back to the IP without one',
    async (_, route, header) => {
      const app = await throttledApp({
        throttling: { keyPrefix: uniquePrefix('throttle-ids') },
        redis: testRedisOptions(),
      });
      const http = request(app.getHttpServer());
      await http.get(route).set(header, 'one').expect(200);
      await http.get(route).set(header, 'one').expect(429);
      await http.get(route).set(header, 'two').expect(200);
      await http.get(route).expect(200);
      await http.get(route).expect(429);
      await app.close();
    },
  );

  it('never writes a raw address into Redis keys', async () => {
    const keyPrefix = uniquePrefix('throttle-keys');
    const app = await throttledApp({
      throttling: { keyPrefix, trustProxy: 1 },
      redis: testRedisOptions(),
    });
    const inspect = await inspectClient();
    try {
      const http = request(app.getHttpServer());
      await http.get('/by-ip').set('X-Forwarded-For', '203.0.113.7').expect(200);
      // Rejected too, so the stats rank the client among the rejected trackers.
      await http.get('/by-ip').set('X-Forwarded-For', '203.0.113.7').expect(429);
      // The stats counters flush on a timer: a snapshot writes them now, so the key set is whole.
      await app.get(ThrottlingStats).snapshot();
      const keys = await inspect.keys(`${keyPrefix}*`);
      expect(keys).toEqual([
        expect.stringMatching(new RegExp(`^${keyPrefix}\\{[0-9a-f]{32}\\}:by-ip$`)),
        `${keyPrefix}{stats}:policies`,
        `${keyPrefix}{stats}:rejected`,
      ]);
      expect(keys.join()).not.toContain('203.0.113.7');
      // The ranking names the client by the same hash as the limit's key, not by its address.
      const tracker = /\{([0-9a-f]{32})\}/.exec(keys[0]!)![1];
      expect(await inspect.redis.zRange(`${keyPrefix}{stats}:rejected`, 0, -1)).toEqual([tracker]);
    } finally {
      inspect.close();
      await app.close();
    }
  });

  it.each([
    [
      'trustProxy: true (trust every hop)',
      { trustProxy: true as unknown as number },
      'E_THROTTLE_TRUST_PROXY',
    ],
    ['a negative trustProxy', { trustProxy: -1 }, 'E_THROTTLE_TRUST_PROXY'],
    ['an unknown tracker', { tracker: 'cookie' as never }, 'E_THROTTLE_VALUE'],
    ['a zero limit', { policies: { standard: { limit: 0, ttlMs: 1000 } } }, 'E_THROTTLE_VALUE'],
    [
      'a fractional limit',
      { policies: { standard: { limit: 2.5, ttlMs: 1000 } } },
      'E_THROTTLE_VALUE',
    ],
    ['a zero ttlMs', { policies: { standard: { limit: 5, ttlMs: 0 } } }, 'E_THROTTLE_NUMBER'],
  ])('refuses to start with %s, saying how to fix it', async (_, throttling, code) => {
    const failure = throttledApp({ throttling }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const error = await failure;
    expect(error).toBeInstanceOf(ThrottlingOptionsError);
    expect((error as ThrottlingOptionsError).code).toBe(code);
  });

  it('explains why trusting every proxy hop is refused, and refuses an unknown policy name', async () => {
    await expect(
      throttledApp({ throttling: { trustProxy: true as unknown as number } }),
    ).rejects.toThrow(/lets any client choose its address.*count your proxies/s);
    // The test routes name 'first'; a module without it cannot start.
    await expect(
      throttledApp({ throttling: { policies: { first: undefined as never } } }),
    ).rejects.toMatchObject({
      code: 'E_THROTTLE_POLICY',
      message: expect.stringMatching(/'first'.*Add it/s),
    });
  });
});
