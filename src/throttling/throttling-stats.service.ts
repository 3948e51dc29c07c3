import { Inject, Injectable, Logger, type OnModuleDestroy, Optional } from '@nestjs/common';
import { BatchedCounters, type CounterBatch } from '../common/batched-counters';
import { LogThrottle } from '../common/log-throttle';
import type { ThrottlingStatsSnapshot } from '../common/stats-shapes';
import { StatsSource, type StatsSnapshotSource } from '../common/stats-source';
import { withDeadline } from '../redis/deadline';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { isRedisReady } from '../redis/redis-ready';
import type { RedisConnection } from '../redis/redis.types';
import { RESOLVED_THROTTLING_OPTIONS } from './throttling.internal-constants';
import type { ResolvedThrottlingOptions } from './throttling-options';

type Counts = ReadonlyMap<string, number>;
type Group = 'policies' | 'budgets' | 'rejected';
/** Trackers kept in the rejection ranking; the rest fall off the bottom. */
const MAX_RANKED = 1000;

/**
 * The `throttling` section of `GET /stats`. Counting never touches Redis on the request path:
 * counts gather in memory (`BatchedCounters`) and are written in one MULTI every
 * `statsFlushIntervalMs` (and before a snapshot), each write bounded by `redisTimeoutMs`.
 * Without Redis the counters stay in memory.
 *
 * @example
 * const { byPolicy, topRejected } = await app.get(ThrottlingStats).snapshot();
 */
@StatsSource('throttling')
@Injectable()
export class ThrottlingStats
  implements StatsSnapshotSource<ThrottlingStatsSnapshot>, OnModuleDestroy
{
  private readonly counters: BatchedCounters<Group>;
  private readonly keys: Record<Group, string>;
  private readonly timeoutMs: number;

  constructor(
    @Inject(RESOLVED_THROTTLING_OPTIONS) options: ResolvedThrottlingOptions,
    @Optional() @Inject(REDIS_CLIENT) private readonly redis?: RedisConnection,
  ) {
    const base = `${options.keyPrefix}{stats}`;
    this.keys = {
      policies: `${base}:policies`,
      budgets: `${base}:budgets`,
      rejected: `${base}:rejected`,
    };
    this.timeoutMs = options.redisTimeoutMs;
    this.counters = new BatchedCounters<Group>({
      groups: { policies: {}, budgets: {}, rejected: { maxFields: MAX_RANKED } },
      write: redis && ((batch) => this.write(redis, batch)),
      intervalMs: options.statsFlushIntervalMs,
      timeoutMs: options.redisTimeoutMs,
      what: 'throttling stats',
      warn: new LogThrottle(new Logger('ThrottlingModule')),
      // A disconnected node-redis client (or cluster node) fails single commands at once but
      // runs a MULTI through its next reconnection attempt (up to `maxReconnectDelayMs`).
      ready: redis && (() => isRedisReady(redis)),
    });
  }

  /** Counts one decision of a request limit. */
  recordPolicy(policy: string, allowed: boolean): void {
    this.counters.add('policies', `${policy}:${allowed ? 'allowed' : 'rejected'}`, 1);
  }

  /** Counts one rejection against a hashed tracker. */
  recordRejectedTracker(tracker: string): void {
    this.counters.add('rejected', tracker, 1);
  }

  /** Counts budget use (tokens, or USD) or a budget rejection. */
  recordBudget(policy: string, consumed: number, rejected: boolean): void {
    if (consumed) this.counters.add('budgets', `${policy}:consumed`, consumed);
    if (rejected) this.counters.add('budgets', `${policy}:rejected`, 1);
  }

  async snapshot(): Promise<ThrottlingStatsSnapshot> {
    const { counters } = this;
    if (!this.redis)
      return shape(
        counters.fields('policies'),
        counters.fields('budgets'),
        ranked(counters.fields('rejected')),
      );
    // While Redis is known to be down, answer at once instead of through a reconnection.
    if (!isRedisReady(this.redis))
      throw new Error('Redis is not connected: throttling stats unavailable');
    if (!(await this.flush())) throw new Error('the throttling stats could not be written');
    const read = this.redis
      .multi()
      .hGetAll(this.keys.policies)
      .hGetAll(this.keys.budgets)
      .zRangeWithScores(this.keys.rejected, 0, 9, { REV: true })
      .exec();
    const [policies, budgets, rejected] = (await withDeadline(
      read,
      this.timeoutMs,
      'a throttling stats read',
    )) as unknown as [
      Record<string, string>,
      Record<string, string>,
      { value: string; score: number }[],
    ];
    const numbers = (hash: Record<string, string>): Counts =>
      new Map(Object.entries(hash).map(([k, v]) => [k, Number(v)]));
    return shape(
      numbers(policies),
      numbers(budgets),
      rejected.map((r) => ({ tracker: r.value, rejections: r.score })),
    );
  }

  async reset(): Promise<void> {
    this.counters.clear();
    if (this.redis)
      await withDeadline(
        this.redis.del([this.keys.policies, this.keys.budgets, this.keys.rejected]),
        this.timeoutMs,
        'a throttling stats reset',
      );
  }

  /** Writes the pending counts in one MULTI; false when they were not (kept for the next flush). */
  flush(): Promise<boolean> {
    return this.counters.flush();
  }

  async onModuleDestroy(): Promise<void> {
    await this.counters.close();
  }

  private async write(redis: RedisConnection, batch: CounterBatch<Group>): Promise<void> {
    const multi = redis.multi();
    for (const [field, n] of batch.policies) multi.hIncrBy(this.keys.policies, field, n);
    for (const [field, n] of batch.budgets) multi.hIncrByFloat(this.keys.budgets, field, n);
    for (const [tracker, n] of batch.rejected) multi.zIncrBy(this.keys.rejected, n, tracker);
    if (batch.rejected.size > 0) multi.zRemRangeByRank(this.keys.rejected, 0, -MAX_RANKED - 1);
    await multi.exec();
  }
}

const ranked = (map: Counts): { tracker: string; rejections: number }[] =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([tracker, rejections]) => ({ tracker, rejections }));

function shape(
  policies: Counts,
  budgets: Counts,
  topRejected: { tracker: string; rejections: number }[],
): ThrottlingStatsSnapshot {
  // No prototype: a name read back from Redis is never a property of Object.
  const snapshot: ThrottlingStatsSnapshot = {
    byPolicy: Object.create(null) as ThrottlingStatsSnapshot['byPolicy'],
    topRejected,
    budgets: Object.create(null) as ThrottlingStatsSnapshot['budgets'],
  };
  for (const [field, n] of policies) {
    const cut = field.lastIndexOf(':');
    const [name, result] = [field.slice(0, cut), field.slice(cut + 1)];
    if (result !== 'allowed' && result !== 'rejected') continue;
    (snapshot.byPolicy[name] ??= { allowed: 0, rejected: 0 })[result] += n;
  }
  for (const [field, n] of budgets) {
    const cut = field.lastIndexOf(':');
    const [name, result] = [field.slice(0, cut), field.slice(cut + 1)];
    if (result !== 'consumed' && result !== 'rejected') continue;
    const kind = name.endsWith(':usd') ? 'usd' : 'tokens';
    (snapshot.budgets[name] ??= { kind, consumed: 0, rejected: 0 })[result] += n;
  }
  for (const entry of Object.values(snapshot.budgets))
    entry.consumed = Math.round(entry.consumed * 1e6) / 1e6;
  return snapshot;
}
