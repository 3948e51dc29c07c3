import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT } from './redis.constants';
import type { RedisConnection } from './redis.types';

/** The answer of a Redis health check. */
export interface RedisHealth {
  ok: boolean;
  latencyMs?: number;
  error?: string;
}

/**
 * Checks that the shared connection answers, for a readiness probe.
 *
 * @example
 * const { ok } = await redisHealth.check();
 */
@Injectable()
export class RedisHealthService {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisConnection) {}

  async check(): Promise<RedisHealth> {
    const started = performance.now();
    try {
      await this.redis.ping();
      return { ok: true, latencyMs: performance.now() - started };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
