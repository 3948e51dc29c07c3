import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import type { CacheSliceStats, CacheStatsSnapshot } from '../common/stats-shapes';
import { StatsSource, type StatsSnapshotSource } from '../common/stats-source';
import { RedisScript } from '../redis/redis-script';
import { REDIS_CLIENT } from '../redis/redis.constants';
import type { RedisConnection } from '../redis/redis.types';
import type { CacheEntry } from './cache-entry';
import { RESOLVED_CACHING_OPTIONS } from './caching.constants';
import type { ResolvedCachingOptions } from './caching-options.interface';
import { callSiteFields } from '../llm-calls/call-site';

// ARGV: field, amount, field, amount, ... on one hash: every counter of a flush at once.
const INCREMENT = new RedisScript(`
for i = 1, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`);

/** What a request ended as, for the counters. */
export type CacheOutcome = 'hits' | 'misses' | 'coalesced' | 'bypassed';

export const SLICE_FIELDS = [
  'hits',
  'misses',
  'coalesced',
  'bypassed',
  'savingsUsd',
  'tokensSaved',
  'latencySavedMs',
] as const;
const FLUSH_INTERVAL_MS = 200;
type SliceFields = Record<(typeof SLICE_FIELDS)[number], string>;

const emptySlice = (): CacheSliceStats => ({
  hits: 0,
  misses: 0,
  coalesced: 0,
  bypassed: 0,
  savingsUsd: 0,
  tokensSaved: 0,
  latencySavedMs: 0,
});

// '|' separates the parts of a field name; a model or route never brings its own.
const part = (value: string): string => value.replace(/\|/g, '_').slice(0, 100);

/**
 * The cache's counters: hits, misses, coalesced, bypassed and the savings ledger, in total,
 * by model and by route. With Redis they live in one hash (`<prefix>:{stats}`), so every
 * instance reports the cluster-wide figures; increments are batched in memory and flushed
 * with one HINCRBYFLOAT script every 200 ms (and before every snapshot), so a hit costs no
 * Redis round trip. Without Redis the counters are this process's.
 *
 * @example
 * const snapshot = await app.get(LlmCacheStats).snapshot(); // { hits, misses, hitRate, ... }
 */
@StatsSource('cache')
@Injectable()
export class LlmCacheStats implements StatsSnapshotSource<CacheStatsSnapshot>, OnModuleDestroy {
  private pending = new Map<string, number>();
  private readonly fieldNames = new Map<string, SliceFields[]>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private readonly key: string;

  constructor(
    @Inject(RESOLVED_CACHING_OPTIONS) options: ResolvedCachingOptions,
    @Optional() @Inject(REDIS_CLIENT) private readonly redis?: RedisConnection,
  ) {
    this.key = `${options.keyPrefix}:{stats}`;
  }

  /** Counts one request; a hit or coalesced request also adds the entry's savings. */
  record(
    outcome: CacheOutcome,
    model: string | undefined,
    route?: string,
    entry?: CacheEntry,
    site?: string,
  ) {
    const saved = entry !== undefined && (outcome === 'hits' || outcome === 'coalesced');
    // h15: the call-site slice (src/llm-calls/call-site.ts bounds the names).
    const fieldSets = this.fieldsFor(model, route);
    for (const fields of site ? [...fieldSets, callSiteFields(site)] : fieldSets) {
      this.add(fields[outcome], 1);
      if (saved) {
        const { usage } = entry;
        this.add(fields.savingsUsd, entry.costUsd);
        this.add(
          fields.tokensSaved,
          usage.inputTokens + usage.cachedInputTokens + usage.outputTokens,
        );
        this.add(fields.latencySavedMs, entry.latencyMs);
      }
    }
    if (saved && !entry.exact) this.add('t|estimated', 1);
  }

  /** The hash field names of the total, the model and the route, built once per pair. */
  private fieldsFor(model: string | undefined, route: string | undefined): SliceFields[] {
    const id = `${route ?? ''}\u0000${model ?? ''}`;
    let fields = this.fieldNames.get(id);
    if (fields === undefined) {
      const scopes = ['t'];
      if (model) scopes.push(`m|${part(model)}`);
      if (route) scopes.push(`r|${part(route)}`);
      fields = scopes.map(
        (scope) =>
          Object.fromEntries(SLICE_FIELDS.map((name) => [name, `${scope}|${name}`])) as SliceFields,
      );
      // Model names come from requests: bound the memo.
      if (this.fieldNames.size >= 1000) this.fieldNames.clear();
      this.fieldNames.set(id, fields);
    }
    return fields;
  }

  private add(field: string, amount: number): void {
    this.pending.set(field, (this.pending.get(field) ?? 0) + amount);
    if (this.redis && !this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
      this.timer.unref();
    }
  }

  /** Writes the batched increments to Redis; on failure they stay batched for the next try. */
  async flush(): Promise<void> {
    if (!this.redis) return;
    await this.flushing;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const args: string[] = [];
    for (const [field, amount] of batch) args.push(field, String(amount));
    this.flushing = INCREMENT.run(this.redis, [this.key], args).then(
      () => undefined,
      () => {
        for (const [field, amount] of batch) this.add(field, amount);
      },
    );
    await this.flushing;
    this.flushing = undefined;
  }

  async snapshot(): Promise<CacheStatsSnapshot> {
    let fields: Record<string, string | number>;
    if (this.redis) {
      await this.flush();
      fields = await this.redis.hGetAll(this.key);
    } else {
      fields = Object.fromEntries(this.pending);
    }
    const total = emptySlice();
    const byModel: Record<string, CacheSliceStats> = {};
    const byRoute: Record<string, CacheSliceStats> = {};
    const bySite: Record<string, CacheSliceStats> = Object.create(null) as Record<
      string,
      CacheSliceStats
    >;
    let estimated = false;
    for (const [field, raw] of Object.entries(fields)) {
      const value = Number(raw);
      const parts = field.split('|');
      const name = parts.at(-1) as (typeof SLICE_FIELDS)[number] | 'estimated';
      if (name === 'estimated') {
        estimated ||= value > 0;
        continue;
      }
      if (!SLICE_FIELDS.includes(name)) continue;
      let slice: CacheSliceStats | undefined;
      if (parts[0] === 't') slice = total;
      else if (parts.length === 3 && parts[0] === 'm') slice = byModel[parts[1]!] ??= emptySlice();
      else if (parts.length === 3 && parts[0] === 'r') slice = byRoute[parts[1]!] ??= emptySlice();
      else if (parts.length === 3 && parts[0] === 's') slice = bySite[parts[1]!] ??= emptySlice();
      if (slice) slice[name] = value;
    }
    const looked = total.hits + total.misses + total.coalesced;
    const savings = Math.round(total.savingsUsd * 1e9) / 1e9;
    return {
      hits: total.hits,
      misses: total.misses,
      coalesced: total.coalesced,
      bypassed: total.bypassed,
      hitRate: looked === 0 ? 0 : Math.round((total.hits / looked) * 10_000) / 100,
      estimatedSavingsUsd: savings,
      estimatedSavings: `$${savings.toFixed(2)}`,
      tokensSaved: total.tokensSaved,
      latencySavedMs: total.latencySavedMs,
      estimated,
      byModel,
      byRoute,
      bySite,
    };
  }

  async reset(): Promise<void> {
    this.pending.clear();
    if (this.redis) await this.redis.del(this.key);
  }

  async onModuleDestroy(): Promise<void> {
    await this.flush().catch(() => undefined);
  }
}
