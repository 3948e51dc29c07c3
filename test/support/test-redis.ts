import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import type { RedisClient } from '../../src/redis/redis.types';
import { INSTALL_HINT } from './redis-binary';
import { RedisServer } from './redis-server';

/** URL of the run's shared Redis; throws how to install redis-server when there is none. */
export function testRedisUrl(): string {
  const url = process.env.REDIS_TEST_URL;
  if (!url) throw new Error(process.env.REDIS_TEST_UNAVAILABLE ?? INSTALL_HINT);
  return url;
}

/** A key prefix of the spec's own, so specs never see each other's keys. */
export function uniquePrefix(name: string): string {
  return `t:${name}:${randomBytes(4).toString('hex')}:`;
}

/** A plain client on the shared test server, for looking at what a module wrote. */
export async function inspectClient(url = testRedisUrl()): Promise<RedisClient> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** A redis-server of the spec's own, for specs that kill and restart it. */
export function ownRedisServer(): Promise<RedisServer> {
  return RedisServer.start();
}
