import type { RedisClientOptions, RedisClusterOptions } from 'redis';
import type { RedisConnection } from './redis.types';

/** Options of `RedisModule.forRoot()`: give exactly one of `url`, `socket`, `cluster` or `client`. */
export interface RedisModuleOptions {
  /** A `redis://` or `rediss://` URL, e.g. `redis://:secret@localhost:6379/0`. */
  url?: string;
  /** node-redis socket options (host, port, tls...) for a standalone server. */
  socket?: RedisClientOptions['socket'];
  /** A Redis Cluster: its seed nodes, and options applied to every node connection. */
  cluster?: Pick<RedisClusterOptions, 'rootNodes' | 'defaults' | 'useReplicas'>;
  /**
   * A client or cluster you created and own. The module uses it as it is (connecting it if
   * it is not open yet) and never closes it.
   */
  client?: RedisConnection;
  /** Extra node-redis options (username, password, database, name...) for a created client. */
  clientOptions?: Omit<RedisClientOptions, 'url' | 'socket'>;
  /**
   * How long start-up waits for the first connection before it fails.
   * @default 5000 (ms)
   */
  connectTimeoutMs?: number;
  /**
   * How long the kit's Redis calls wait for a reply before they fail: the cache store, the
   * health check, the stats counters' flushes and reads, the stats time series and reset
   * (throttling decisions and session reads have their own `redisTimeoutMs` and
   * `storeTimeoutMs`). Commands issued while disconnected fail at once (there is no offline
   * queue). Your own calls on the shared client are not bounded by it: node-redis 5 has no
   * bound on a reply, only on the wait to be written; wrap them in `withDeadline()`.
   * @default 2000 (ms)
   */
  commandTimeoutMs?: number;
  /**
   * Longest wait between two reconnection attempts after the connection is lost.
   * @default 1000 (ms)
   */
  maxReconnectDelayMs?: number;
}
