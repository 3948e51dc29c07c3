import request from 'supertest';
import { REDIS_CLIENT, type RedisConnection, ThrottlingStats } from '../src';
import { ownRedis, uniquePrefix, untilReady } from './support/test-redis';
import { throttledApp } from './throttling-test-app';

// Found by `npm run soak`: a MULTI on a disconnected node-redis client waits for the next
// reconnection attempt (up to maxReconnectDelayMs) where single commands fail at once, so
// GET /stats took its whole snapshotTimeoutMs (2 s) while Redis was down.
describe('ThrottlingStats when Redis is down', () => {
  it('fails the snapshot without waiting for a reconnection attempt, and keeps the counts for Redis', async () => {
    const server = await ownRedis();
    const app = await throttledApp({
      throttling: { keyPrefix: uniquePrefix('rl-stats-down'), trustProxy: 1 },
      redis: server.target,
    });
    try {
      const http = request(app.getHttpServer());
      const stats = app.get(ThrottlingStats);
      const redis = app.get<RedisConnection>(REDIS_CLIENT);
      // A failed reconnection attempt is an 'error' of a client, a 'node-error' of a cluster.
      const reconnectFailed = 'masters' in redis ? 'node-error' : 'error';
      await http.get('/p-local').set('X-Forwarded-For', '1.1.1.1').expect(200);
      await stats.flush();

      await server.stop();
      // Counted in this instance's memory while Redis is down (the `local` policy).
      await http.get('/p-local').set('X-Forwarded-For', '1.1.1.1').expect(200);
      await http.get('/p-local').set('X-Forwarded-For', '1.1.1.1').expect(200);
      let attempts = 0;
      const count = () => attempts++;
      redis.on(reconnectFailed, count);
      await expect(stats.snapshot()).rejects.toThrow(/not connected/);
      await stats.flush();
      // Each failed reconnection attempt emits 'error': none happened while we were answered.
      expect(attempts).toBe(0);
      redis.off(reconnectFailed, count);

      await server.restart();
      await untilReady(redis);
      // Redis came back empty (no persistence): it holds exactly what was batched while down.
      expect((await stats.snapshot()).byPolicy['p-local']).toEqual({ allowed: 2, rejected: 0 });
    } finally {
      await app.close();
      await server.stop();
    }
  });
});
