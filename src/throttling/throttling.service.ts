import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { LogThrottle } from '../common/log-throttle';
import { withDeadline } from '../redis/deadline';
import { REDIS_CLIENT } from '../redis/redis.constants';
import type { RedisConnection } from '../redis/redis.types';
import { RESOLVED_THROTTLING_OPTIONS } from './throttling.internal-constants';
import type { ResolvedThrottlingOptions } from './throttling-options';
import type { FailurePolicy } from './throttling-options.interface';
import { MemoryThrottleStore } from './memory-throttle.store';
import { RedisThrottleStore } from './redis-throttle.store';
import type { CheckResult, SettleItem, ThrottleCheck } from './throttle-store.interface';

/** A check plus what to do with it when Redis is away. */
export interface PolicyCheck extends ThrottleCheck {
  policy: string;
  onRedisError: FailurePolicy;
}

/** Which store answered a check ('skipped': Redis was away and the policy is `open`). */
export type CheckStore = 'redis' | 'memory' | 'skipped';

/** The outcome of a request's checks. */
export interface Evaluation {
  allowed: boolean;
  /** Redis was away and a `closed` policy applies: answer 503. */
  unavailable: boolean;
  results: (CheckResult | undefined)[];
  stores: CheckStore[];
}

/**
 * Runs a request's limit checks on Redis (when `RedisModule` is present) or the embedded memory
 * store, and applies each policy's failure policy when Redis does not answer within
 * `redisTimeoutMs`. Also usable directly, e.g. to limit a queue consumer.
 *
 * @example
 * const { allowed } = await throttling.consume([{ policy: 'jobs', key: 'rl:{w1}:jobs', limit: 5,
 *   periodMs: 1000, cost: 1, onRedisError: 'local' }]);
 */
@Injectable()
export class ThrottlingService {
  private readonly logger = new Logger('ThrottlingModule');
  private readonly warnOnce = new LogThrottle(this.logger);
  readonly memory: MemoryThrottleStore;
  private readonly redisStore?: RedisThrottleStore;

  constructor(
    @Inject(RESOLVED_THROTTLING_OPTIONS) private readonly options: ResolvedThrottlingOptions,
    @Optional() @Inject(REDIS_CLIENT) redis?: RedisConnection,
  ) {
    this.memory = new MemoryThrottleStore(options.memoryMaxKeys);
    if (redis) this.redisStore = new RedisThrottleStore(redis);
  }

  /** True when limits are shared through Redis. */
  get usesRedis(): boolean {
    return this.redisStore !== undefined;
  }

  async consume(checks: PolicyCheck[]): Promise<Evaluation> {
    if (!this.redisStore) {
      const answer = this.memory.consumeSync(checks);
      return { ...answer, unavailable: false, stores: checks.map(() => 'memory') };
    }
    try {
      const answer = await withDeadline(
        this.redisStore.consume(checks),
        this.options.redisTimeoutMs,
        'a rate-limit check',
      );
      return { ...answer, unavailable: false, stores: checks.map(() => 'redis') };
    } catch (error) {
      this.warnOnce.warn(
        'redis',
        `rate limits: Redis unavailable (${describe(error)}); applying failure policies`,
      );
      return this.fallback(checks);
    }
  }

  /** Settles reservations in the store that made them; errors are logged once per interval. */
  async settle(items: SettleItem[], stores: CheckStore[]): Promise<void> {
    const onRedis = items.filter((_, i) => stores[i] === 'redis');
    const inMemory = items.filter((_, i) => stores[i] === 'memory');
    await this.memory.settle(inMemory);
    if (onRedis.length === 0 || !this.redisStore) return;
    try {
      await withDeadline(
        this.redisStore.settle(onRedis),
        this.options.redisTimeoutMs,
        'a budget settle',
      );
    } catch (error) {
      this.warnOnce.warn(
        'settle',
        `budget settlement failed (${describe(error)}); the lease expires instead`,
      );
    }
  }

  private fallback(checks: PolicyCheck[]): Evaluation {
    const stores = checks.map((c): CheckStore =>
      c.onRedisError === 'local' ? 'memory' : 'skipped',
    );
    const results: (CheckResult | undefined)[] = checks.map(() => undefined);
    if (checks.some((c) => c.onRedisError === 'closed'))
      return { allowed: false, unavailable: true, results, stores };
    const local = checks.filter((c) => c.onRedisError === 'local');
    const answer = this.memory.consumeSync(local);
    let j = 0;
    checks.forEach((c, i) => {
      if (c.onRedisError === 'local') results[i] = answer.results[j++];
    });
    return { allowed: answer.allowed, unavailable: false, results, stores };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
}
