import request from 'supertest';
import { RedisCluster } from './support/redis-cluster';
import { uniquePrefix } from './support/test-redis';
import { throttledApp } from './throttling-test-app';

describe('ThrottlingModule on Redis Cluster', () => {
  it('keeps all-or-nothing when the limits of a request have trackers in different slots', async () => {
    const cluster = await RedisCluster.start();
    try {
      const app = await throttledApp({
        // closed: a cross-slot error would answer 503 instead of silently falling back to memory.
        throttling: { keyPrefix: uniquePrefix('throttle-cluster'), onRedisError: 'closed' },
        redis: { cluster: { rootNodes: cluster.rootNodes } },
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
      await app.close();
    } finally {
      await cluster.stop();
    }
  });
});
