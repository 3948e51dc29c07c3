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

// Sessions
import './session/session-data.types';
export { SessionModule } from './session/session.module';
export type {
  SessionModuleOptions,
  SessionCookieOptions,
  SessionRoute,
} from './session/session-module-options.interface';
export { SessionService } from './session/session.service';
export type { SessionInfo } from './session/session-info.interface';
export { Session } from './session/session.decorator';
export { SessionGuard } from './session/session.guard';
export { RequireSession, REQUIRE_SESSION } from './session/require-session.decorator';
export { SessionExceptionFilter } from './session/session-exception.filter';
export { SessionStats } from './session/session.stats';
export { createSession, destroySession, sessionMiddleware } from './session/session.helpers';
export {
  SessionOptionsError,
  SessionUnavailableError,
  SessionNotFoundError,
} from './session/session.errors';
