import {
  Inject,
  Injectable,
  Module,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import {
  type CacheSliceStats,
  type CacheStatsSnapshot,
  InjectRedis,
  RedisModule,
  type RedisConnection,
  StatsModule,
  StatsSource,
  type StatsSnapshotSource,
} from '../../src';
import { listen } from '../bench-app';
import type { Scenario } from '../scenario';

// GET /stats with 10 vs 100k cache entries in Redis. The stats source here keeps its
// counters in one hash, as the real modules do, and never looks at the entries: the bench
// shows the read does not depend on them. (After the merge it switches to CachingModule.)

const ENTRIES = Symbol('ENTRIES');
const BATCH = 1000;
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'gemini-2.5-flash', 'o3'];

@StatsSource('cache')
@Injectable()
class BenchCacheStats
  implements StatsSnapshotSource<CacheStatsSnapshot>, OnModuleInit, OnModuleDestroy
{
  private readonly prefix: string;

  constructor(
    @InjectRedis() private readonly redis: RedisConnection,
    @Inject(ENTRIES) private readonly entries: number,
  ) {
    this.prefix = `bench:stats:${entries}:`;
  }

  private get statsKey(): string {
    return `${this.prefix}{stats}`;
  }

  private entryKey(i: number): string {
    return `${this.prefix}entry:{${i.toString(16)}}`;
  }

  async onModuleInit(): Promise<void> {
    const value = JSON.stringify({ model: 'gpt-4o-mini', text: 'x'.repeat(160), usage: [20, 450] });
    for (let start = 0; start < this.entries; start += BATCH) {
      const pairs: [string, string][] = [];
      for (let i = start; i < Math.min(this.entries, start + BATCH); i++)
        pairs.push([this.entryKey(i), value]);
      await this.redis.mSet(pairs);
    }
    const last = await this.redis.exists(this.entryKey(this.entries - 1));
    if (last !== 1) throw new Error(`the bench did not seed its ${this.entries} cache entries`);
    const fields: Record<string, string> = { hits: '7000', misses: '3000', savingsUsd: '123.45' };
    for (const model of MODELS)
      Object.assign(fields, { [`m|${model}|hits`]: '1400', [`m|${model}|savingsUsd`]: '24.69' });
    await this.redis.hSet(this.statsKey, fields);
  }

  async onModuleDestroy(): Promise<void> {
    for (let start = 0; start < this.entries; start += BATCH) {
      const keys: string[] = [];
      for (let i = start; i < Math.min(this.entries, start + BATCH); i++)
        keys.push(this.entryKey(i));
      await this.redis.unlink(keys);
    }
    await this.redis.unlink(this.statsKey);
  }

  async snapshot(): Promise<CacheStatsSnapshot> {
    const hash = await this.redis.hGetAll(this.statsKey);
    const get = (field: string): number => Number(hash[field] ?? 0);
    const byModel: Record<string, CacheSliceStats> = {};
    for (const model of MODELS) {
      const hits = get(`m|${model}|hits`);
      const savingsUsd = get(`m|${model}|savingsUsd`);
      byModel[model] = {
        hits,
        misses: 0,
        coalesced: 0,
        bypassed: 0,
        savingsUsd,
        tokensSaved: 0,
        latencySavedMs: 0,
      };
    }
    const hits = get('hits');
    const misses = get('misses');
    const savings = get('savingsUsd');
    return {
      hits,
      misses,
      coalesced: 0,
      bypassed: 0,
      hitRate: hits + misses ? Math.round((10000 * hits) / (hits + misses)) / 100 : 0,
      estimatedSavingsUsd: savings,
      estimatedSavings: `$${savings.toFixed(2)}`,
      tokensSaved: 0,
      latencySavedMs: 0,
      estimated: false,
      byModel,
      byRoute: {},
    };
  }

  async reset(): Promise<void> {
    await this.redis.unlink(this.statsKey);
  }
}

@Module({})
class StatsBenchModule {
  static register(redisUrl: string, entries: number) {
    return {
      module: StatsBenchModule,
      imports: [
        RedisModule.forRoot({ url: redisUrl }),
        StatsModule.forRoot({ keyPrefix: `bench:stats:${entries}:` }),
      ],
      providers: [{ provide: ENTRIES, useValue: entries }, BenchCacheStats],
    };
  }
}

export const statsScenarios: Scenario[] = [
  {
    name: 'stats-10',
    description: 'GET /stats (StatsModule + Redis), 10 cache entries in Redis',
    start: (ctx) => listen(StatsBenchModule.register(ctx.redisUrl, 10), { path: '/stats' }),
  },
  {
    name: 'stats-100k',
    description: 'GET /stats with 100k cache entries in Redis',
    compareTo: ['stats-10'],
    // Printed, not judged: same connections, so latency ratio = 1 / throughput ratio (latency
    // <= 1.2x would be >= 0.83x req/s).
    start: (ctx) => listen(StatsBenchModule.register(ctx.redisUrl, 100_000), { path: '/stats' }),
  },
];
