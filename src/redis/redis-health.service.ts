import { Inject, Injectable } from '@nestjs/common';
import { withDeadline } from './deadline';
import { REDIS_CLIENT, REDIS_COMMAND_TIMEOUT_MS } from './redis.constants';
import type { RedisConnection } from './redis.types';

/** The answer of a Redis health check. */
export interface RedisHealth {
  ok: boolean;
  latencyMs?: number;
  error?: string;
}

/**
 * Checks that the shared connection answers, for a readiness probe. The check never takes
 * longer than its timeout (a frozen Redis answers `{ ok: false }` then, it does not hang).
 *
 * @example
 * const { ok } = await redisHealth.check();
 */
@Injectable()
export class RedisHealthService {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisConnection,
    @Inject(REDIS_COMMAND_TIMEOUT_MS) private readonly commandTimeoutMs: number,
  ) {}

  /** PINGs Redis; `timeoutMs` defaults to RedisModule's `commandTimeoutMs`. */
  async check(timeoutMs = this.commandTimeoutMs): Promise<RedisHealth> {
    const started = performance.now();
    try {
      await withDeadline(this.redis.ping(), timeoutMs, 'a health check PING');
      return { ok: true, latencyMs: performance.now() - started };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
