import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { LogThrottle } from '../common/log-throttle';
import { withDeadline } from '../redis/deadline';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../redis/redis-connection.factory';
import { REDIS_CLIENT, REDIS_COMMAND_TIMEOUT_MS } from '../redis/redis.constants';
import { hashTag } from '../redis/redis-keys';
import { RedisScript } from '../redis/redis-script';
import type { RedisConnection } from '../redis/redis.types';
import type { ResolvedStatsOptions } from './stats-module-options.interface';
import type { StatsReport, StatsSeriesPoint } from './stats-report.interface';
import { STATS_OPTIONS } from './stats.constants';
import { StatsService } from './stats.service';

// Claims the interval starting at ARGV[1] for this instance, unless one already has: only
// the first instance of the cluster to reach a new interval samples it.
const CLAIM = new RedisScript(`
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`);

// Appends a point, keeps the newest ARGV[2], and lets a series nobody updates expire.
const PUSH = new RedisScript(`
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`);

/**
 * The dashboard's time series: cumulative totals sampled once per interval, kept bounded,
 * in Redis when it is there (one sampler per interval for the whole cluster) so a fresh
 * page on any instance shows the recent history.
 *
 * @example
 * const points = await app.get(StatsSeriesService).points();
 */
@Injectable()
export class StatsSeriesService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly warn = new LogThrottle(new Logger('StatsModule'));
  private readonly memory: StatsSeriesPoint[] = [];
  private memoryLast = -1;
  private timer?: NodeJS.Timeout;
  private readonly keys: { points: string; claimed: string };
  /** The bound on each Redis call (RedisModule's `commandTimeoutMs`). */
  private readonly timeoutMs: number;

  constructor(
    private readonly stats: StatsService,
    @Inject(STATS_OPTIONS) private readonly options: ResolvedStatsOptions,
    @Optional() @Inject(REDIS_CLIENT) private readonly redis?: RedisConnection,
    @Optional() @Inject(REDIS_COMMAND_TIMEOUT_MS) timeoutMs?: number,
  ) {
    this.timeoutMs = timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const base = `${options.keyPrefix}${hashTag('series')}`;
    this.keys = { points: `${base}:points`, claimed: `${base}:claimed` };
  }

  get intervalMs(): number {
    return this.options.seriesIntervalMs;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.intervalMs === 0) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
    // A first point at start-up, so the dashboard has a baseline at once (never throws).
    await this.tick();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /**
   * Records the point of the interval holding `nowMs` unless it is already recorded (by
   * this or another instance). Returns whether this call recorded it.
   */
  async sample(nowMs: number): Promise<boolean> {
    if (this.intervalMs === 0) return false;
    const t = Math.floor(nowMs / this.intervalMs) * this.intervalMs;
    if (!(await this.claim(t))) return false;
    const report = await this.stats.report();
    if (report.unavailable.length > 0 && report.unavailable.length === this.stats.present().length)
      return false;
    const point = toPoint(t, report);
    if (!this.redis) {
      this.memory.push(point);
      this.memory.splice(0, Math.max(0, this.memory.length - this.options.seriesPoints));
      return true;
    }
    const ttlMs = this.intervalMs * (this.options.seriesPoints + 1);
    await this.bounded(
      PUSH.run(
        this.redis,
        [this.keys.points],
        [JSON.stringify(point), String(this.options.seriesPoints), String(ttlMs)],
      ),
      'a stats series write',
    );
    return true;
  }

  /**
   * The recorded points, oldest first; fails after RedisModule's `commandTimeoutMs`, with a
   * warning in the log (the route's 503 points there).
   */
  async points(): Promise<StatsSeriesPoint[]> {
    if (!this.redis) return [...this.memory];
    try {
      const raw = await this.bounded(
        this.redis.lRange(this.keys.points, 0, -1),
        'a stats series read',
      );
      return raw.map((item) => JSON.parse(item) as StatsSeriesPoint).sort((a, b) => a.t - b.t);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.warn.warn('series-read', `stats time series not read: ${reason}`);
      throw error;
    }
  }

  /** Drops the recorded points (after a reset the old totals would read as a drop). */
  async clear(): Promise<void> {
    this.memory.length = 0;
    if (this.redis) await this.bounded(this.redis.del(this.keys.points), 'a stats series reset');
  }

  private async claim(t: number): Promise<boolean> {
    if (!this.redis) {
      if (t <= this.memoryLast) return false;
      this.memoryLast = t;
      return true;
    }
    const ttlMs = String(this.intervalMs * 2);
    const claimed = CLAIM.run(this.redis, [this.keys.claimed], [String(t), ttlMs]);
    return (await this.bounded(claimed, 'a stats series claim')) === 1;
  }

  private bounded<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.timeoutMs, what);
  }

  private async tick(): Promise<void> {
    try {
      await this.sample(Date.now());
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.warn.warn('series', `stats time series not sampled: ${reason}`);
    }
  }
}

function toPoint(t: number, report: StatsReport): StatsSeriesPoint {
  const { cache, throttling, sessions } = report;
  const policies = throttling ? Object.values(throttling.byPolicy) : undefined;
  const sum = (key: 'allowed' | 'rejected'): number | null =>
    policies ? policies.reduce((total, policy) => total + policy[key], 0) : null;
  return {
    t,
    hits: cache?.hits ?? null,
    misses: cache?.misses ?? null,
    coalesced: cache?.coalesced ?? null,
    savingsUsd: cache?.estimatedSavingsUsd ?? null,
    allowed: sum('allowed'),
    rejected: sum('rejected'),
    sessionsActive: sessions?.active ?? null,
  };
}
