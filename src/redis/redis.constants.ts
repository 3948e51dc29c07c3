import { Inject } from '@nestjs/common';

/**
 * Injection token of the shared Redis connection (a node-redis client or cluster).
 *
 * @example
 * constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisConnection) {}
 */
export const REDIS_CLIENT = Symbol('nestjs-llm-kit:REDIS_CLIENT');

/**
 * Injection token of `RedisModule`'s `commandTimeoutMs` (a number, ms): the bound the kit's
 * modules put on their Redis calls.
 *
 * @example
 * constructor(@Inject(REDIS_COMMAND_TIMEOUT_MS) private readonly timeoutMs: number) {}
 */
export const REDIS_COMMAND_TIMEOUT_MS = Symbol('nestjs-llm-kit:REDIS_COMMAND_TIMEOUT_MS');

/**
 * Injects the shared Redis connection provided by `RedisModule`.
 *
 * @example
 * constructor(@InjectRedis() private readonly redis: RedisConnection) {}
 */
export const InjectRedis = (): ParameterDecorator => Inject(REDIS_CLIENT);
