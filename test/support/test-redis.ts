import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createClient, createCluster } from 'redis';
import type { RedisClient, RedisCluster as ClusterClient, RedisConnection } from '../../src';
import type { SampleOptions } from '../../sample/sample-options';
import { INSTALL_HINT } from './redis-binary';
import { RedisCluster } from './redis-cluster';
import { RedisServer } from './redis-server';

/** What an e2e project runs on. */
export type RedisTestMode = 'standalone' | 'cluster';

/** This project's mode: jest.config.js sets it per project in `globals` (a spec file's own global). */
export function redisTestMode(): RedisTestMode {
  return (globalThis as { REDIS_TEST_MODE?: RedisTestMode }).REDIS_TEST_MODE ?? 'standalone';
}

/** A Redis to connect to, as `RedisModule.forRoot()` takes it: one server, or a cluster's seed nodes. */
export type RedisTarget = { url: string } | { cluster: { rootNodes: { url: string }[] } };

/**
 * The run's shared Redis in this project's mode: the standalone server, or the 3-master
 * cluster. Throws how to install redis-server when there is none.
 */
export function testRedisOptions(): RedisTarget {
  const cluster = redisTestMode() === 'cluster';
  const value = cluster ? process.env.REDIS_TEST_CLUSTER_NODES : process.env.REDIS_TEST_URL;
  if (!value) throw new Error(process.env.REDIS_TEST_UNAVAILABLE ?? INSTALL_HINT);
  return cluster
    ? { cluster: { rootNodes: value.split(',').map((url) => ({ url })) } }
    : { url: value };
}

/** The sample app's options for a Redis target (`redisUrl` or `redisCluster`). */
export function sampleRedis(
  target: RedisTarget = testRedisOptions(),
): Pick<SampleOptions, 'redisUrl' | 'redisCluster'> {
  return 'url' in target ? { redisUrl: target.url } : { redisCluster: target.cluster };
}

/** A key prefix of the spec's own, so specs never see each other's keys. */
export function uniquePrefix(name: string): string {
  return `t:${name}:${randomBytes(4).toString('hex')}:`;
}

/** A connection of the spec's own (a node-redis client, or a cluster client in cluster mode). */
export async function testConnection(
  target: RedisTarget = testRedisOptions(),
): Promise<RedisConnection> {
  const connection =
    'url' in target ? createClient({ url: target.url }) : createCluster(target.cluster);
  connection.on('error', () => undefined);
  await connection.connect();
  return connection;
}

/** A look at what the modules wrote, the same on a server and on a cluster. */
export interface RedisInspector {
  /** For keyed commands (GET, PTTL...): a cluster client routes each to the node of its key. */
  readonly redis: RedisConnection;
  /** A plain client per master (one on a standalone server), for per-node commands. */
  readonly nodes: RedisClient[];
  /** Every key matching `pattern` on every master, sorted (SCAN, never KEYS). */
  keys(pattern?: string): Promise<string[]>;
  /** Calls per command since the start (`INFO commandstats`), summed over the masters. */
  commandCalls(): Promise<Record<string, number>>;
  close(): void;
}

export async function inspectClient(
  target: RedisTarget = testRedisOptions(),
): Promise<RedisInspector> {
  const redis = await testConnection(target);
  const nodes =
    'url' in target
      ? [redis as RedisClient]
      : await Promise.all(
          (redis as ClusterClient).masters.map(async ({ host, port }) => {
            const client = createClient({ socket: { host, port } });
            client.on('error', () => undefined);
            await client.connect();
            return client;
          }),
        );
  return {
    redis,
    nodes,
    async keys(pattern = '*') {
      const keys: string[] = [];
      for (const node of nodes)
        for await (const batch of node.scanIterator({ MATCH: pattern, COUNT: 1000 }))
          keys.push(...batch);
      return keys.sort();
    },
    async commandCalls() {
      const calls: Record<string, number> = {};
      for (const node of nodes) {
        const info = await node.info('commandstats');
        for (const [, name, n] of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g))
          calls[name!] = (calls[name!] ?? 0) + Number(n);
      }
      return calls;
    },
    close() {
      redis.destroy();
      for (const node of nodes) if (node !== redis) node.destroy();
    },
  };
}

/** A Redis of the spec's own, to kill and restart: a server, or a 3-master cluster. */
export interface OwnRedis {
  readonly target: RedisTarget;
  /** Kills it (SIGKILL, every node of a cluster). */
  stop(): Promise<void>;
  /** Starts it again on the same ports, empty, and waits until it answers. */
  restart(): Promise<void>;
  /** Freezes it (SIGSTOP, every node): connections stay open, nothing is answered. */
  pause(): void;
  /** Lets it go on (SIGCONT). */
  resume(): void;
}

export function ownRedis(): Promise<OwnRedis> {
  return redisTestMode() === 'cluster' ? RedisCluster.start() : RedisServer.start();
}

/**
 * Resolves once the connection runs commands again after an outage: the client is ready, or
 * on a cluster, every master's connection is (a cluster client has no `ready` of its own).
 */
export async function untilReady(redis: RedisConnection): Promise<void> {
  const clients =
    'masters' in redis ? (redis as ClusterClient).masters.map((master) => master.client) : [redis];
  await Promise.all(
    clients.map((client) => (!client || client.isReady ? undefined : once(client, 'ready'))),
  );
}
