import { Inject } from '@nestjs/common';

/**
 * Injection token of the shared Redis connection (a node-redis client or cluster).
 *
 * @example
 * constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisConnection) {}
 */
export const REDIS_CLIENT = Symbol('nestjs-llm-kit:REDIS_CLIENT');

/**
 * Injects the shared Redis connection provided by `RedisModule`.
 *
 * @example
 * constructor(@InjectRedis() private readonly redis: RedisConnection) {}
 */
export const InjectRedis = (): ParameterDecorator => Inject(REDIS_CLIENT);
