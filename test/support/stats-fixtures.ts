// Test-fixture stats sources: small real implementations of the StatsSource contract that
// keep their counters in one Redis hash per section (or in memory without Redis), driven by
// a tiny controller. They stand in for the caching, throttling and session modules, so two
// app instances on one Redis really sum their figures through Redis.
import {
  Body,
  Controller,
  HttpCode,
  Inject,
  Injectable,
  Module,
  Optional,
  Post,
  type DynamicModule,
  type Provider,
} from '@nestjs/common';
import type {
  CacheSliceStats,
  CacheStatsSnapshot,
  SessionStatsSnapshot,
  ThrottlingStatsSnapshot,
} from '../../src/common/stats-shapes';
import {
  STATS_SOURCE_METADATA,
  StatsSource,
  type StatsSection,
  type StatsSnapshotSource,
} from '../../src/common/stats-source';
import { REDIS_CLIENT } from '../../src/redis/redis.constants';
import { digest, hashTag } from '../../src/redis/redis-keys';
import { RedisScript } from '../../src/redis/redis-script';
import type { RedisConnection } from '../../src/redis/redis.types';
import { SLICE_FIELDS } from '../../src/caching/llm-cache.stats';

const FIXTURE_PREFIX = Symbol('FIXTURE_PREFIX');

const INCR_FIELDS = new RedisScript(`
for i = 1, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1`);

/** Counters in one Redis hash (one round trip to read) or in a Map. */
class Counters {
  private readonly memory = new Map<string, number>();

  constructor(
    private readonly key: string,
    private readonly redis?: RedisConnection,
  ) {}

  async add(fields: Record<string, number>): Promise<void> {
    if (!this.redis) {
      for (const [f, v] of Object.entries(fields))
        this.memory.set(f, (this.memory.get(f) ?? 0) + v);
      return;
    }
    await INCR_FIELDS.run(this.redis, [this.key], Object.entries(fields).flat().map(String));
  }

  async read(): Promise<Map<string, number>> {
    if (!this.redis) return new Map(this.memory);
    const hash = await this.redis.hGetAll(this.key);
    return new Map(Object.entries(hash).map(([f, v]) => [f, Number(v)]));
  }

  async clear(): Promise<void> {
    this.memory.clear();
    if (this.redis) await this.redis.del(this.key);
  }
}

// The section comes from the subclass's own @StatsSource, so the subclasses need no
// constructor of their own (Nest reads the inherited parameter metadata).
abstract class FixtureSource {
  protected readonly counters: Counters;
  constructor(
    @Inject(FIXTURE_PREFIX) prefix: string,
    @Optional() @Inject(REDIS_CLIENT) redis?: RedisConnection,
  ) {
    const section = Reflect.getMetadata(STATS_SOURCE_METADATA, new.target) as StatsSection;
    this.counters = new Counters(`${prefix}${section}:${hashTag('stats')}`, redis);
  }
  reset(): Promise<void> {
    return this.counters.clear();
  }
}

export type CacheResult = 'hits' | 'misses' | 'coalesced' | 'bypassed';
export interface CacheEvent {
  result: CacheResult;
  model: string;
  route: string;
  savingsUsd?: number;
  tokensSaved?: number;
  latencySavedMs?: number;
}

@StatsSource('cache')
@Injectable()
export class FixtureCacheStats
  extends FixtureSource
  implements StatsSnapshotSource<CacheStatsSnapshot>
{
  record(event: CacheEvent): Promise<void> {
    const values = {
      [event.result]: 1,
      savingsUsd: event.savingsUsd ?? 0,
      tokensSaved: event.tokensSaved ?? 0,
      latencySavedMs: event.latencySavedMs ?? 0,
    };
    const fields: Record<string, number> = {};
    for (const [field, value] of Object.entries(values)) {
      fields[field] = value;
      fields[`m|${event.model}|${field}`] = value;
      fields[`r|${event.route}|${field}`] = value;
    }
    return this.counters.add(fields);
  }

  async snapshot(): Promise<CacheStatsSnapshot> {
    const c = await this.counters.read();
    const get = (field: string): number => c.get(field) ?? 0;
    const slices = (kind: 'm' | 'r'): Record<string, CacheSliceStats> => {
      const out: Record<string, CacheSliceStats> = {};
      for (const field of c.keys()) {
        const [k, name] = field.split('|');
        if (k !== kind || !name || out[name]) continue;
        out[name] = Object.fromEntries(
          SLICE_FIELDS.map((f) => [f, get(`${kind}|${name}|${f}`)]),
        ) as unknown as CacheSliceStats;
      }
      return out;
    };
    const [hits, misses, coalesced] = [get('hits'), get('misses'), get('coalesced')];
    const lookups = hits + misses + coalesced;
    const savings = get('savingsUsd');
    return {
      hits,
      misses,
      coalesced,
      bypassed: get('bypassed'),
      hitRate: lookups ? Math.round((10000 * hits) / lookups) / 100 : 0,
      estimatedSavingsUsd: savings,
      estimatedSavings: `$${savings.toFixed(2)}`,
      tokensSaved: get('tokensSaved'),
      latencySavedMs: get('latencySavedMs'),
      estimated: false,
      byModel: slices('m'),
      byRoute: slices('r'),
    };
  }
}

@StatsSource('throttling')
@Injectable()
export class FixtureThrottlingStats
  extends FixtureSource
  implements StatsSnapshotSource<ThrottlingStatsSnapshot>
{
  record(policy: string, result: 'allowed' | 'rejected', tracker: string): Promise<void> {
    const fields: Record<string, number> = { [`p|${policy}|${result}`]: 1 };
    if (result === 'rejected') fields[`t|${digest(tracker, 16)}`] = 1;
    return this.counters.add(fields);
  }

  async snapshot(): Promise<ThrottlingStatsSnapshot> {
    const c = await this.counters.read();
    const byPolicy: ThrottlingStatsSnapshot['byPolicy'] = {};
    const topRejected: ThrottlingStatsSnapshot['topRejected'] = [];
    for (const [field, value] of c) {
      const [kind, name, result] = field.split('|') as [string, string, 'allowed' | 'rejected'];
      if (kind === 't') topRejected.push({ tracker: name, rejections: value });
      if (kind !== 'p') continue;
      byPolicy[name] ??= { allowed: 0, rejected: 0 };
      byPolicy[name][result] = value;
    }
    topRejected.sort((a, b) => b.rejections - a.rejections);
    return { byPolicy, topRejected: topRejected.slice(0, 10), budgets: {} };
  }
}

@StatsSource('sessions')
@Injectable()
export class FixtureSessionStats
  extends FixtureSource
  implements StatsSnapshotSource<SessionStatsSnapshot>
{
  record(event: 'created' | 'destroyed' | 'revoked'): Promise<void> {
    return this.counters.add({ [event]: 1 });
  }

  async snapshot(): Promise<SessionStatsSnapshot> {
    const c = await this.counters.read();
    const [created, destroyed, revoked] = ['created', 'destroyed', 'revoked'].map(
      (f) => c.get(f) ?? 0,
    ) as [number, number, number];
    return { active: created - destroyed - revoked, created, destroyed, revoked };
  }
}

/** Traffic for the fixture sources: what the real modules would count. */
@Controller('fixture')
export class FixtureTrafficController {
  constructor(
    @Optional() private readonly cache?: FixtureCacheStats,
    @Optional() private readonly throttling?: FixtureThrottlingStats,
    @Optional() private readonly sessions?: FixtureSessionStats,
  ) {}

  @Post('cache')
  @HttpCode(204)
  async recordCache(@Body() event: CacheEvent): Promise<void> {
    await this.cache!.record(event);
  }

  @Post('throttle')
  @HttpCode(204)
  async recordThrottle(
    @Body() body: { policy: string; result: 'allowed' | 'rejected'; tracker: string },
  ): Promise<void> {
    await this.throttling!.record(body.policy, body.result, body.tracker);
  }

  @Post('sessions')
  @HttpCode(204)
  async recordSession(@Body() body: { event: 'created' | 'destroyed' | 'revoked' }): Promise<void> {
    await this.sessions!.record(body.event);
  }
}

const SOURCES: Record<StatsSection, Provider> = {
  cache: FixtureCacheStats,
  throttling: FixtureThrottlingStats,
  sessions: FixtureSessionStats,
};

/** The fixture sources of the given sections, their counters under `prefix`. */
@Module({})
export class StatsFixtureModule {
  static register(
    prefix: string,
    sections: StatsSection[] = ['cache', 'throttling', 'sessions'],
  ): DynamicModule {
    return {
      module: StatsFixtureModule,
      controllers: [FixtureTrafficController],
      providers: [
        { provide: FIXTURE_PREFIX, useValue: prefix },
        ...sections.map((s) => SOURCES[s]),
      ],
    };
  }
}
