import { Logger } from '@nestjs/common';
import { createClient, createCluster } from 'redis';
import type { RedisModuleOptions } from './redis-module-options.interface';
import type { RedisConnection } from './redis.types';
import { RedisConnectError, RedisOptionsError } from './redis.errors';
import { redactUrl } from './redis-keys';
import { RedisTimeoutError, withDeadline } from './deadline';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 1000;
const ERROR_LOG_INTERVAL_MS = 10_000;

/** The shared connection and whether this module created it (and so must close it). */
export interface OwnedConnection {
  connection: RedisConnection;
  owned: boolean;
  target: string;
}

function describeTarget(options: RedisModuleOptions): string {
  if (options.url) return redactUrl(options.url);
  if (options.cluster) {
    const nodes = options.cluster.rootNodes.map((node) => {
      const socket = node.socket as { host?: string; port?: number } | undefined;
      return node.url
        ? redactUrl(node.url)
        : `${socket?.host ?? 'localhost'}:${socket?.port ?? 6379}`;
    });
    return `cluster [${nodes.join(', ')}]`;
  }
  if (options.socket) {
    const socket = options.socket as { host?: string; port?: number; path?: string };
    return socket.path ?? `${socket.host ?? 'localhost'}:${socket.port ?? 6379}`;
  }
  return 'the provided client';
}

function build(options: RedisModuleOptions): RedisConnection {
  const maxDelay = options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS;
  const common = {
    // Without an offline queue a command issued while Redis is away fails at once
    // instead of piling up; every module has its own failure policy for that case.
    // No node-redis `commandOptions.timeout`: it bounds only the wait to be written, not the
    // reply, and costs an AbortSignal timer per command (17 µs of CPU per GET instead of 5,
    // measured). The kit bounds its own calls with `commandTimeoutMs` (see withDeadline).
    disableOfflineQueue: true,
  };
  const socket = {
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, maxDelay),
  };
  if (options.cluster) {
    return createCluster({
      ...options.cluster,
      defaults: {
        ...common,
        ...options.cluster.defaults,
        socket: { ...socket, ...options.cluster.defaults?.socket },
      },
    });
  }
  return createClient({
    ...options.clientOptions,
    ...common,
    url: options.url,
    socket: { ...socket, ...options.socket } as RedisModuleOptionsSocket,
  });
}
type RedisModuleOptionsSocket = NonNullable<RedisModuleOptions['socket']>;

function isOpen(connection: RedisConnection): boolean {
  return 'isOpen' in connection && connection.isOpen;
}

/**
 * Creates (or adopts) the shared connection and opens it, failing after
 * `connectTimeoutMs` with an error that names the target (password redacted).
 */
export async function openRedisConnection(options: RedisModuleOptions): Promise<OwnedConnection> {
  const targets = (['url', 'socket', 'cluster', 'client'] as const).filter((key) => options[key]);
  if (targets.length !== 1) {
    throw new RedisOptionsError(
      `RedisModule.forRoot() needs exactly one of url, socket, cluster or client; got ${targets.length ? targets.join(' and ') : 'none'}.`,
    );
  }
  const target = describeTarget(options);
  const owned = !options.client;
  const connection = options.client ?? build(options);
  const logger = new Logger('RedisModule');
  let lastLog = 0;
  connection.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastLog < ERROR_LOG_INTERVAL_MS) return;
    lastLog = now;
    logger.warn(`Redis ${target}: ${error.message}`);
  });
  if (isOpen(connection)) return { connection, owned, target };

  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  try {
    await withDeadline<unknown>(connection.connect(), timeoutMs, `the connection to ${target}`);
    return { connection, owned, target };
  } catch (error) {
    if (owned) connection.destroy();
    throw new RedisConnectError(
      target,
      timeoutMs,
      error instanceof RedisTimeoutError ? undefined : error,
    );
  }
}
