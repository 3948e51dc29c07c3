// The public API of nestjs-llm-kit, listed by name. Nothing else is importable.

// Redis
export { RedisModule } from './redis/redis.module';
export { REDIS_CLIENT, InjectRedis } from './redis/redis.constants';
export type { RedisModuleOptions } from './redis/redis-module-options.interface';
export type { RedisClient, RedisCluster, RedisConnection } from './redis/redis.types';
export { RedisHealthService, type RedisHealth } from './redis/redis-health.service';
export { RedisScript, type RedisScriptReply } from './redis/redis-script';
export { RedisConnectError, RedisOptionsError } from './redis/redis.errors';
export { hashTag, digest, redactUrl } from './redis/redis-keys';
