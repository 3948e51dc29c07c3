import { setTimeout as delay } from 'node:timers/promises';
import { LogThrottle } from '../src/common/log-throttle';
import { isRedisReady } from '../src/redis/redis-ready';
import type { RedisConnection } from '../src';
import { RedisSessionBackend } from '../src/session/redis-session.backend';
import { countSession, sessionCounters } from '../src/session/session-counters';
import { ownRedis, testConnection, uniquePrefix, untilReady } from './support/test-redis';

/** Resolves once the client has seen the server go (bounded: fails after 5 s). */
async function untilDown(redis: RedisConnection): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (isRedisReady(redis)) {
    if (Date.now() > deadline) throw new Error('the client still says ready 5 s after the stop');
    await delay(20);
  }
}

/** Session counters over a Redis backend, with every warning they log collected. */
function counters(redis: RedisConnection) {
  const backend = new RedisSessionBackend(redis, uniquePrefix('sess-counters'));
  const warnings: string[] = [];
  const log = new LogThrottle({ warn: (message: string) => warnings.push(message) }, 0);
  return { backend, warnings, counters: sessionCounters(backend, 500, log) };
}

describe('session counters while Redis is away', () => {
  it('keeps counts made while Redis is down without trying a write, and writes them once it is back', async () => {
    const server = await ownRedis();
    const redis = await testConnection(server.target);
    const { backend, warnings, counters: batch } = counters(redis);
    try {
      await server.stop();
      await untilDown(redis);
      countSession(batch, { created: 2, destroyed: 1 });
      // No write is tried (a failed one would log "not written"); the counts stay pending.
      expect(await batch.flush()).toBe(false);
      expect(warnings).toEqual([]);
      expect(batch.fields('totals').get('created')).toBe(2);

      // (A restarting cluster answers CLUSTERDOWN for a moment: a write tried then fails, is
      // warned about and kept; the counts still arrive once, neither lost nor doubled.)
      await server.restart();
      await untilReady(redis);
      expect(await batch.flush()).toBe(true);
      expect(await backend.counters(Date.now())).toMatchObject({ created: 2, destroyed: 1 });
    } finally {
      await batch.close();
      redis.destroy();
      await server.stop();
    }
  });

  it('stays quiet once the app has closed its connection (no write, no warning)', async () => {
    const redis = await testConnection();
    const { warnings, counters: batch } = counters(redis);
    countSession(batch, { created: 1 });
    redis.destroy();
    expect(isRedisReady(redis)).toBe(false);
    expect(await batch.flush()).toBe(false);
    expect(warnings).toEqual([]);
    await batch.close();
  });
});
