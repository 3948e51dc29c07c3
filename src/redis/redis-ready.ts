import type { RedisCluster, RedisConnection } from './redis.types';

/**
 * Whether the shared connection can run a command now: the client is ready, or on a cluster
 * the cluster client is open (not closed by the app) and every master's connection is ready
 * (a cluster client has no `isReady` of its own; a master that has no connection yet is
 * opened on first use). A disconnected node-redis client fails
 * single commands at once but runs a MULTI through its next reconnection attempt, so code
 * that batches in a MULTI checks this first.
 *
 * @example
 * if (!isRedisReady(redis)) return keepBatched();
 */
export function isRedisReady(redis: RedisConnection): boolean {
  if ('masters' in redis)
    return (
      redis.isOpen &&
      (redis as RedisCluster).masters.every((master) => master.client?.isReady ?? true)
    );
  return redis.isReady;
}
