import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { REDIS_CLIENT, REDIS_COMMAND_TIMEOUT_MS } from './redis.constants';
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  openRedisConnection,
  type OwnedConnection,
} from './redis-connection.factory';
import { RedisHealthService } from './redis-health.service';
import { RedisConfigurableModule, REDIS_MODULE_OPTIONS } from './redis.module-definition';
import type { RedisModuleOptions } from './redis-module-options.interface';

const OWNED_CONNECTION = Symbol('nestjs-llm-kit:OWNED_CONNECTION');

/**
 * One Redis connection (client or cluster) shared by every module of the kit. Global by
 * default; with it imported, caching, throttling, sessions and stats switch from their
 * embedded memory stores to Redis.
 *
 * @example
 * RedisModule.forRoot({ url: process.env.REDIS_URL })
 */
@Module({
  providers: [
    {
      provide: OWNED_CONNECTION,
      inject: [REDIS_MODULE_OPTIONS],
      useFactory: (options: RedisModuleOptions) => openRedisConnection(options),
    },
    {
      provide: REDIS_CLIENT,
      inject: [OWNED_CONNECTION],
      useFactory: (owned: OwnedConnection) => owned.connection,
    },
    {
      provide: REDIS_COMMAND_TIMEOUT_MS,
      inject: [REDIS_MODULE_OPTIONS],
      useFactory: (options: RedisModuleOptions) =>
        options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    },
    RedisHealthService,
  ],
  exports: [REDIS_CLIENT, REDIS_COMMAND_TIMEOUT_MS, RedisHealthService],
})
export class RedisModule extends RedisConfigurableModule implements OnApplicationShutdown {
  constructor(@Inject(OWNED_CONNECTION) private readonly owned: OwnedConnection) {
    super();
  }

  async onApplicationShutdown(): Promise<void> {
    const { connection, owned } = this.owned;
    if (!owned || !connection.isOpen) return;
    try {
      await connection.close();
    } catch {
      connection.destroy();
    }
  }
}
