import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  InjectRedis,
  RedisConnectError,
  RedisModule,
  RedisOptionsError,
  type RedisConnection,
} from '../src';
import { RedisScript } from '../src/redis/redis-script';
import { freePort } from './support/free-port';
import {
  inspectClient,
  ownRedis,
  redisTestMode,
  testConnection,
  testRedisOptions,
  uniquePrefix,
  untilReady,
} from './support/test-redis';

@Injectable()
class UsesRedis {
  constructor(@InjectRedis() readonly redis: RedisConnection) {}
}

@Module({ providers: [UsesRedis], exports: [UsesRedis] })
class FeatureModule {}

async function appWith(options: Parameters<typeof RedisModule.forRoot>[0]) {
  const moduleRef = await Test.createTestingModule({
    imports: [RedisModule.forRoot(options), FeatureModule],
  }).compile();
  await moduleRef.init();
  return moduleRef;
}

describe('RedisModule', () => {
  it('shares one connection with every module through InjectRedis()', async () => {
    const prefix = uniquePrefix('redis-module');
    const app = await appWith(testRedisOptions());
    const { redis } = app.get(UsesRedis);
    await redis.set(`${prefix}k`, 'v');
    const check = await inspectClient();
    expect(await check.redis.get(`${prefix}k`)).toBe('v');
    check.close();
    await app.close();
    expect(redis.isOpen).toBe(false);
  });

  it('leaves a client it did not create open on shutdown', async () => {
    const client = await testConnection();
    const app = await appWith({ client });
    expect(app.get(UsesRedis).redis).toBe(client);
    await app.close();
    expect(client.isOpen).toBe(true);
    expect(await client.ping()).toBe('PONG');
    client.destroy();
  });

  it('refuses no connection target, or two, naming what it got', async () => {
    await expect(appWith({})).rejects.toThrow(RedisOptionsError);
    await expect(appWith({})).rejects.toThrow(
      /exactly one of url, socket, cluster or client; got none/,
    );
    const client = await testConnection();
    await expect(appWith({ url: 'redis://127.0.0.1:1', client })).rejects.toThrow(
      /exactly one of url, socket, cluster or client; got url and client/,
    );
    expect(client.isOpen).toBe(true);
    client.destroy();
  });

  it('fails start-up within connectTimeoutMs naming the target, with the password redacted', async () => {
    const port = await freePort();
    const url = `redis://:hunter2@127.0.0.1:${port}`;
    const target = redisTestMode() === 'cluster' ? { cluster: { rootNodes: [{ url }] } } : { url };
    const started = Date.now();
    const attempt = appWith({ ...target, connectTimeoutMs: 300 });
    await expect(attempt).rejects.toThrow(RedisConnectError);
    await expect(attempt).rejects.toThrow(`redis://:***@127.0.0.1:${port}`);
    await attempt.catch((error: Error) => expect(error.message).not.toContain('hunter2'));
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('fails commands at once while Redis is down and recovers when it returns', async () => {
    const server = await ownRedis();
    const app = await appWith({ ...server.target, maxReconnectDelayMs: 50 });
    const { redis } = app.get(UsesRedis);
    await redis.set('k', '1');
    await server.stop();
    const started = Date.now();
    await expect(redis.get('k')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
    await server.restart();
    await untilReady(redis);
    await redis.set('k', '2');
    expect(await redis.get('k')).toBe('2');
    await app.close();
    await server.stop();
  });

  it('runs a Lua script by SHA and reloads it after the server forgets it', async () => {
    const prefix = uniquePrefix('script');
    const app = await appWith(testRedisOptions());
    const { redis } = app.get(UsesRedis);
    const inspect = await inspectClient();
    const script = new RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    expect(await script.run(redis, [`${prefix}n`], ['2'])).toBe(2);
    await Promise.all(inspect.nodes.map((node) => node.scriptFlush()));
    expect(await script.run(redis, [`${prefix}n`], ['3'])).toBe(5);
    // Loaded again where it ran (on a cluster, the master of the key; the others forgot it).
    const loaded = await Promise.all(inspect.nodes.map((node) => node.scriptExists(script.sha)));
    expect(loaded.flat()).toContain(1);
    inspect.close();
    await app.close();
  });

  it('runs a multi-key script on keys that share a hash tag, whatever slot the tag lands in', async () => {
    const app = await appWith(testRedisOptions());
    const { redis } = app.get(UsesRedis);
    const prefix = uniquePrefix('tagged');
    const script = new RedisScript(
      "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return redis.call('GET', KEYS[2])",
    );
    for (const tag of ['a', 'b', 'c', 'user-42']) {
      const keys = [`${prefix}{${tag}}:1`, `${prefix}{${tag}}:2`];
      expect(await script.run(redis, keys, [tag])).toBe(tag);
    }
    await app.close();
  });
});
