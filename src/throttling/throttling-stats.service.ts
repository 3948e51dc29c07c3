import { Inject, Injectable, Logger, type OnModuleDestroy, Optional } from '@nestjs/common';
import { LogThrottle } from '../common/log-throttle';
import type { ThrottlingStatsSnapshot } from '../common/stats-shapes';
import { StatsSource, type StatsSnapshotSource } from '../common/stats-source';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { isRedisReady } from '../redis/redis-ready';
import type { RedisConnection } from '../redis/redis.types';
import { RESOLVED_THROTTLING_OPTIONS } from './throttling.internal-constants';
import type { ResolvedThrottlingOptions } from './throttling-options';

type Counts = Map<string, number>;
const add = (map: Counts, field: string, by: number): void => {
  map.set(field, (map.get(field) ?? 0) + by);
};
/** Trackers kept in the rejection ranking; the rest fall off the bottom. */
const MAX_RANKED = 1000;

/**
 * The `throttling` section of `GET /stats`. Counting never touches Redis on the request path:
 * counts gather in memory and are written in one batched MULTI every `statsFlushIntervalMs`
 * (and before a snapshot). Without Redis the counters stay in memory.
 *
 * @example
 * const { byPolicy, topRejected } = await app.get(ThrottlingStats).snapshot();
 */
@StatsSource('throttling')
@Injectable()
export class ThrottlingStats
  implements StatsSnapshotSource<ThrottlingStatsSnapshot>, OnModuleDestroy
{
  private policies: Counts = new Map();
  private budgets: Counts = new Map();
  private rejected: Counts = new Map();
  private readonly timer?: NodeJS.Timeout;
  private readonly keys: { policies: string; budgets: string; rejected: string };
  private readonly warnOnce = new LogThrottle(new Logger('ThrottlingModule'));

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
    if (redis) {
      this.timer = setInterval(() => void this.flush(), options.statsFlushIntervalMs);
      this.timer.unref();
    }
  }

  /** Counts one decision of a request limit. */
  recordPolicy(policy: string, allowed: boolean): void {
    add(this.policies, `${policy}:${allowed ? 'allowed' : 'rejected'}`, 1);
  }

  /** Counts one rejection against a hashed tracker. */
  recordRejectedTracker(tracker: string): void {
    if (this.rejected.size < MAX_RANKED || this.rejected.has(tracker))
      add(this.rejected, tracker, 1);
  }

  /** Counts budget use (tokens, or USD) or a budget rejection. */
  recordBudget(policy: string, consumed: number, rejected: boolean): void {
    if (consumed) add(this.budgets, `${policy}:consumed`, consumed);
    if (rejected) add(this.budgets, `${policy}:rejected`, 1);
  }

  async snapshot(): Promise<ThrottlingStatsSnapshot> {
    if (!this.redis)
      return shape(fields(this.policies), fields(this.budgets), ranked(this.rejected));
    if (this.offline()) throw new Error('Redis is not connected: throttling stats unavailable');
    await this.flush();
    const [policies, budgets, rejected] = (await this.redis
      .multi()
      .hGetAll(this.keys.policies)
      .hGetAll(this.keys.budgets)
      .zRangeWithScores(this.keys.rejected, 0, 9, { REV: true })
      .exec()) as unknown as [
      Record<string, string>,
      Record<string, string>,
      { value: string; score: number }[],
    ];
    return shape(
      Object.entries(policies).map(([k, v]) => [k, Number(v)]),
      Object.entries(budgets).map(([k, v]) => [k, Number(v)]),
      rejected.map((r) => ({ tracker: r.value, rejections: r.score })),
    );
  }

  async reset(): Promise<void> {
    this.policies.clear();
    this.budgets.clear();
    this.rejected.clear();
    if (this.redis)
      await this.redis.del([this.keys.policies, this.keys.budgets, this.keys.rejected]);
  }

  /** Writes the pending counts in one MULTI; on failure they are kept for the next flush. */
  async flush(): Promise<void> {
    if (
      !this.redis ||
      (this.policies.size === 0 && this.budgets.size === 0 && this.rejected.size === 0) ||
      this.offline()
    )
      return;
    const { policies, budgets, rejected } = this;
    this.policies = new Map();
    this.budgets = new Map();
    this.rejected = new Map();
    const multi = this.redis.multi();
    for (const [field, n] of policies) multi.hIncrBy(this.keys.policies, field, n);
    for (const [field, n] of budgets) multi.hIncrByFloat(this.keys.budgets, field, n);
    for (const [tracker, n] of rejected) multi.zIncrBy(this.keys.rejected, n, tracker);
    if (rejected.size > 0) multi.zRemRangeByRank(this.keys.rejected, 0, -MAX_RANKED - 1);
    try {
      await multi.exec();
    } catch (error) {
      for (const [f, n] of policies) add(this.policies, f, n);
      for (const [f, n] of budgets) add(this.budgets, f, n);
      for (const [f, n] of rejected) this.recordRejectedTrackerBy(f, n);
      this.warnOnce.warn(
        'stats',
        `throttling stats not written: ${error instanceof Error ? error.message : 'error'}`,
      );
    }
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    try {
      await this.flush();
    } catch {
      // shutting down: nothing to do about it
    }
  }

  /**
   * A disconnected node-redis client (or cluster node) fails single commands at once but runs a
   * MULTI through its next reconnection attempt (up to `maxReconnectDelayMs`): while it is known
   * to be down, keep the counts batched and answer the snapshot at once instead.
   */
  private offline(): boolean {
    return this.redis !== undefined && !isRedisReady(this.redis);
  }

  private recordRejectedTrackerBy(tracker: string, n: number): void {
    if (this.rejected.size < MAX_RANKED || this.rejected.has(tracker))
      add(this.rejected, tracker, n);
  }
}

const fields = (map: Counts): [string, number][] => [...map];
const ranked = (map: Counts): { tracker: string; rejections: number }[] =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([tracker, rejections]) => ({ tracker, rejections }));

function shape(
  policies: [string, number][],
  budgets: [string, number][],
  topRejected: { tracker: string; rejections: number }[],
): ThrottlingStatsSnapshot {
  const snapshot: ThrottlingStatsSnapshot = { byPolicy: {}, topRejected, budgets: {} };
  for (const [field, n] of policies) {
    const cut = field.lastIndexOf(':');
    const name = field.slice(0, cut);
    const entry = (snapshot.byPolicy[name] ??= { allowed: 0, rejected: 0 });
    entry[field.slice(cut + 1) as 'allowed' | 'rejected'] += n;
  }
  for (const [field, n] of budgets) {
    const cut = field.lastIndexOf(':');
    const name = field.slice(0, cut);
    const kind = name.endsWith(':usd') ? 'usd' : 'tokens';
    const entry = (snapshot.budgets[name] ??= { kind, consumed: 0, rejected: 0 });
    entry[field.slice(cut + 1) as 'consumed' | 'rejected'] += n;
  }
  for (const entry of Object.values(snapshot.budgets))
    entry.consumed = Math.round(entry.consumed * 1e6) / 1e6;
  return snapshot;
}
