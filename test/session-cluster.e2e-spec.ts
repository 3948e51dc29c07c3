import request from 'supertest';
import { SessionService, SessionStats } from '../src';
import { RedisCluster } from './support/redis-cluster';
import { sessionCookie, sessionTestApp } from './session-support/session-test-app';

const HTTPS = { 'X-Forwarded-Proto': 'https' };

describe('SessionModule on a 3-master Redis Cluster', () => {
  it('runs every script within one slot: login, list, cap, revoke-all, logout, stats', async () => {
    const cluster = await RedisCluster.start();
    const app = await sessionTestApp({
      cluster: { rootNodes: cluster.rootNodes },
      maxSessionsPerUser: 2,
    });
    try {
      const http = app.getHttpServer();
      const cookies: string[] = [];
      for (const user of ['ann', 'ann', 'ann', 'ben', 'cy']) {
        cookies.push(
          sessionCookie(await request(http).post(`/login/${user}`).set(HTTPS).expect(201))!,
        );
      }
      const sessions = app.get(SessionService);
      expect(await sessions.listForUser('ann')).toHaveLength(2);
      await request(http).get('/me').set(HTTPS).set('Cookie', cookies[0]!).expect(401);
      await request(http).get('/me').set(HTTPS).set('Cookie', cookies[2]!).expect(200);
      expect(await sessions.revokeAllForUser('ann')).toBe(2);
      await request(http).post('/logout').set(HTTPS).set('Cookie', cookies[3]!).expect(201);
      await request(http).get('/me').set(HTTPS).set('Cookie', cookies[3]!).expect(401);
      await request(http).get('/me').set(HTTPS).set('Cookie', cookies[4]!).expect(200);
      expect(await app.get(SessionStats).snapshot()).toEqual({
        active: 1,
        created: 5,
        destroyed: 1,
        revoked: 3,
      });
    } finally {
      await app.close();
      await cluster.stop();
    }
  });
});
