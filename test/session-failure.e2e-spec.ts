import request from 'supertest';
import { inspectClient, ownRedis, untilReady } from './support/test-redis';
import { sessionCookie, sessionTestApp } from './session-support/session-test-app';
import { REDIS_CLIENT, type RedisConnection } from '../src';

const HTTPS = { 'X-Forwarded-Proto': 'https' };
const STORE_TIMEOUT_MS = 500;

/** A route that does not use the session answers, and leaves the cookie as it is. */
async function healthKeepsCookie(http: Parameters<typeof request>[0], cookie: string) {
  const health = await request(http).get('/health').set(HTTPS).set('Cookie', cookie).expect(200);
  expect(health.headers['set-cookie']).toBeUndefined();
}

describe('SessionModule when Redis goes away', () => {
  it('answers 503 on session routes, keeps other routes up, and recovers without a restart', async () => {
    const server = await ownRedis();
    const app = await sessionTestApp({ redis: server.target, storeTimeoutMs: STORE_TIMEOUT_MS });
    const http = app.getHttpServer();
    try {
      const login = await request(http).post('/login/u1').set(HTTPS).expect(201);
      const cookie = sessionCookie(login)!;
      await request(http).get('/me').set(HTTPS).set('Cookie', cookie).expect(200);

      await server.stop();
      // supertest's timeout turns a hang into a failure; the route must answer, with 503.
      const down = await request(http)
        .get('/me')
        .set(HTTPS)
        .set('Cookie', cookie)
        .timeout(STORE_TIMEOUT_MS * 4);
      expect(down.status).toBe(503);
      expect(down.headers['retry-after']).toBe('1');
      expect(down.headers['set-cookie']).toBeUndefined(); // the cookie is kept: nothing lost
      expect(down.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The session store is unavailable; try again shortly.',
      });
      const loginDown = await request(http)
        .post('/login/u2')
        .set(HTTPS)
        .timeout(STORE_TIMEOUT_MS * 4);
      expect(loginDown.status).toBe(503);
      // A route that does not use the session still answers, cookie or not.
      await healthKeepsCookie(http, cookie);
      await request(http).get('/health').expect(200);

      await server.restart();
      await untilReady(app.get<RedisConnection>(REDIS_CLIENT));
      // The server lost its data (no persistence): the old session is gone, a new login works.
      await request(http).get('/me').set(HTTPS).set('Cookie', cookie).expect(401);
      const again = await request(http).post('/login/u1').set(HTTPS).expect(201);
      await request(http).get('/me').set(HTTPS).set('Cookie', sessionCookie(again)!).expect(200);
    } finally {
      await app.close();
      await server.stop();
    }
  });

  it('answers 503 within storeTimeoutMs when Redis stops answering (paused, not closed)', async () => {
    const server = await ownRedis();
    const app = await sessionTestApp({ redis: server.target, storeTimeoutMs: STORE_TIMEOUT_MS });
    const http = app.getHttpServer();
    const admin = await inspectClient(server.target);
    try {
      const cookie = sessionCookie(await request(http).post('/login/u1').set(HTTPS).expect(201))!;
      // CLIENT PAUSE holds every command of every client: Redis is up but does not answer
      // (every master of a cluster).
      await Promise.all(
        admin.nodes.map((node) =>
          node.sendCommand(['CLIENT', 'PAUSE', String(STORE_TIMEOUT_MS * 4), 'ALL']),
        ),
      );
      const res = await request(http)
        .get('/me')
        .set(HTTPS)
        .set('Cookie', cookie)
        .timeout(STORE_TIMEOUT_MS * 3);
      expect(res.status).toBe(503);
      await healthKeepsCookie(http, cookie);
    } finally {
      admin.close();
      await app.close();
      await server.stop();
    }
  });
});
