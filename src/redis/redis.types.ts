import type { createClient, createCluster } from 'redis';

/** A standalone node-redis 5 client, as `createClient()` returns it. */
export type RedisClient = ReturnType<typeof createClient>;
/** A node-redis 5 cluster client, as `createCluster()` returns it. */
export type RedisCluster = ReturnType<typeof createCluster>;
/** The one shared connection every module uses: a client or a cluster. */
export type RedisConnection = RedisClient | RedisCluster;
