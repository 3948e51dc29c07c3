import { Inject, Injectable, Logger, type OnModuleDestroy, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { BatchedCounters, type CounterBatch } from '../common/batched-counters';
import { LogThrottle } from '../common/log-throttle';
import type { CacheSliceStats, CacheStatsSnapshot } from '../common/stats-shapes';
import { StatsSource, type StatsSnapshotSource } from '../common/stats-source';
import { PriceTable } from '../llm/llm-pricing';
import { withDeadline } from '../redis/deadline';
import { traceCacheOutcome } from '../telemetry/kit-decisions';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../redis/redis-connection.factory';
import { isRedisReady } from '../redis/redis-ready';
import { RedisScript } from '../redis/redis-script';
import { REDIS_CLIENT, REDIS_COMMAND_TIMEOUT_MS } from '../redis/redis.constants';
import type { RedisConnection } from '../redis/redis.types';
import type { CacheEntry } from './cache-entry';
import { RESOLVED_CACHING_OPTIONS } from './caching.constants';
import type { ResolvedCachingOptions } from './caching-options.interface';
import { MAX_CALL_SITES } from './call-site';

// KEYS[1]: the counters hash; KEYS[2]: the set of unknown models that have a series of their
// own (at most ARGV[1], cluster-wide). ARGV[2]: n, then n (model, fallback) pairs, then
// field, amount pairs. A model the set has no room for is counted under its fallback.
const INCREMENT = new RedisScript(`
local limit, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local moved = {}
for i = 3, 2 + 2 * n, 2 do
  local name = ARGV[i]
  if redis.call('SISMEMBER', KEYS[2], name) == 0 then
    if redis.call('SCARD', KEYS[2]) < limit then redis.call('SADD', KEYS[2], name)
    else moved['m|' .. name .. '|'] = 'm|' .. ARGV[i + 1] .. '|' end
  end
end
for i = 3 + 2 * n, #ARGV, 2 do
  local field = ARGV[i]
  if string.sub(field, 1, 2) == 'm|' then
    local cut = string.find(field, '|', 3, true)
    local to = cut and moved[string.sub(field, 1, cut)]
    if to then field = to .. string.sub(field, cut + 1) end
  end
  redis.call('HINCRBYFLOAT', KEYS[1], field, ARGV[i + 1])
end
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
type SliceField = (typeof SLICE_FIELDS)[number];
type SliceFields = Record<SliceField, string>;

/** Call-site names with a slice of their own (the first `MAX_CALL_SITES`), and their fields. */
const fieldsBySite = new Map<string, SliceFields>();

/**
 * The stats hash fields of a call site (`s|<name>|<counter>`), built once per name; past
 * `MAX_CALL_SITES` names, new ones share the `other` slice so the series stays bounded.
 */
function callSiteFields(site: string): SliceFields {
  let fields = fieldsBySite.get(site);
  if (fields === undefined) {
    const name = fieldsBySite.size >= MAX_CALL_SITES ? 'other' : site;
    fields = fieldsBySite.get(name);
    if (fields === undefined) {
      fields = Object.fromEntries(SLICE_FIELDS.map((f) => [f, `s|${name}|${f}`])) as SliceFields;
      fieldsBySite.set(name, fields);
    }
  }
  return fields;
}

/** The series every model without a series of its own is counted under. */
export const OTHER_MODEL = 'other';
/** Model names outside the price table that get a series of their own (cluster-wide). */
export const MAX_UNKNOWN_MODELS = 20;
/** Longest model or route name in a series; longer ones are cut. */
export const MAX_SERIES_NAME_LENGTH = 64;
/** Routes with a series of their own; the rest are counted under `other`. */
const MAX_ROUTES = 200;
/** Model series read back from Redis at most (price table + unknown + other, with room). */
const MAX_MODEL_SERIES = 200;
const FLUSH_INTERVAL_MS = 200;

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
const part = (value: string): string =>
  value.replace(/[|\p{Cc}]/gu, '_').slice(0, MAX_SERIES_NAME_LENGTH);

/** A series of `slices`, found or added; past `max` series, the `other` one. */
function sliceOf(slices: Map<string, CacheSliceStats>, name: string, max: number) {
  let slice = slices.get(name);
  if (slice === undefined) {
    if (slices.size >= max) return sliceOf(slices, OTHER_MODEL, Infinity);
    slices.set(name, (slice = emptySlice()));
  }
  return slice;
}

/** A plain JSON object of the slices, with no prototype (a name is never a property of Object). */
const record = (slices: Map<string, CacheSliceStats>): Record<string, CacheSliceStats> =>
  Object.assign(Object.create(null) as Record<string, CacheSliceStats>, Object.fromEntries(slices));

/**
 * The cache's counters: hits, misses, coalesced, bypassed and the savings ledger, in total,
 * by model and by route. With Redis they live in one hash (`<prefix>:{stats}`), so every
 * instance reports the cluster-wide figures; increments are batched in memory and flushed
 * every 200 ms (and before every snapshot) by `BatchedCounters`, so a hit costs no Redis
 * round trip. Without Redis the counters are this process's.
 *
 * Model names come from requests, so their series are bounded: a model of the price table
 * is counted under the table's name (`gpt-4o-2024-08-06` under `gpt-4o`), the first
 * `MAX_UNKNOWN_MODELS` other names (cut to `MAX_SERIES_NAME_LENGTH`) get a series of their
 * own, and every later one is counted under `other`.
 *
 * @example
 * const snapshot = await app.get(LlmCacheStats).snapshot(); // { hits, misses, hitRate, ... }
 */
@StatsSource('cache')
@Injectable()
export class LlmCacheStats implements StatsSnapshotSource<CacheStatsSnapshot>, OnModuleDestroy {
  private readonly counters: BatchedCounters<'fields'>;
  /** Model names come from requests: the memo of their fields is bounded. */
  private readonly fieldNames = new LRUCache<string, SliceFields[]>({ max: 1000 });
  private readonly pricing: PriceTable;
  /** Unknown model names this process gave a series of their own. */
  private readonly unknownModels = new Set<string>();
  private readonly routes = new Set<string>();
  private readonly keys: [counters: string, unknownModels: string];
  private readonly timeoutMs: number;

  constructor(
    @Inject(RESOLVED_CACHING_OPTIONS) options: ResolvedCachingOptions,
    @Optional() @Inject(REDIS_CLIENT) private readonly redis?: RedisConnection,
    @Optional() @Inject(REDIS_COMMAND_TIMEOUT_MS) timeoutMs?: number,
  ) {
    this.keys = [`${options.keyPrefix}:{stats}`, `${options.keyPrefix}:{stats}:models`];
    this.pricing = new PriceTable(options.pricing);
    this.timeoutMs = timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.counters = new BatchedCounters({
      groups: { fields: {} },
      write: redis && ((batch) => this.write(redis, batch)),
      intervalMs: FLUSH_INTERVAL_MS,
      timeoutMs: this.timeoutMs,
      what: 'cache stats',
      warn: new LogThrottle(new Logger('CachingModule')),
      ready: redis && (() => isRedisReady(redis)),
    });
  }

  /** Counts one request; a hit or coalesced request also adds the entry's savings. @internal */
  record(
    outcome: CacheOutcome,
    model: string | undefined,
    route?: string,
    entry?: CacheEntry,
    site?: string,
  ) {
    const saved = entry !== undefined && (outcome === 'hits' || outcome === 'coalesced');
    // The call-site slice (call-site.ts bounds the names).
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
    traceCacheOutcome(outcome, entry, site ?? route);
  }

  /** The series a model is counted under (see the class comment). */
  modelSeries(model: string): string {
    const { known, name } = this.pricing.resolve(model);
    if (known && name) return part(name);
    const own = part(model);
    if (this.unknownModels.has(own)) return own;
    if (this.unknownModels.size >= MAX_UNKNOWN_MODELS) return OTHER_MODEL;
    this.unknownModels.add(own);
    return own;
  }

  private routeSeries(route: string): string {
    const own = part(route);
    if (this.routes.has(own)) return own;
    if (this.routes.size >= MAX_ROUTES) return OTHER_MODEL;
    this.routes.add(own);
    return own;
  }

  /** The hash field names of the total, the model and the route, built once per pair. */
  private fieldsFor(model: string | undefined, route: string | undefined): SliceFields[] {
    const id = `${route ?? ''}\u0000${model ?? ''}`;
    let fields = this.fieldNames.get(id);
    if (fields === undefined) {
      const scopes = ['t'];
      if (model) scopes.push(`m|${this.modelSeries(model)}`);
      if (route) scopes.push(`r|${this.routeSeries(route)}`);
      fields = scopes.map(
        (scope) =>
          Object.fromEntries(SLICE_FIELDS.map((name) => [name, `${scope}|${name}`])) as SliceFields,
      );
      this.fieldNames.set(id, fields);
    }
    return fields;
  }

  private add(field: string, amount: number): void {
    this.counters.add('fields', field, amount);
  }

  private write(redis: RedisConnection, batch: CounterBatch<'fields'>) {
    const unknown: string[] = [];
    for (const model of this.unknownModels) unknown.push(model, OTHER_MODEL);
    const args = [String(MAX_UNKNOWN_MODELS), String(unknown.length / 2), ...unknown];
    for (const [field, amount] of batch.fields) args.push(field, String(amount));
    return INCREMENT.run(redis, this.keys, args);
  }

  /** Writes the batched increments to Redis; false when they could not be (kept for later). */
  flush(): Promise<boolean> {
    return this.counters.flush();
  }

  async snapshot(): Promise<CacheStatsSnapshot> {
    let fields: Iterable<[string, string | number]>;
    if (this.redis) {
      if (!(await this.flush())) throw new Error('the cache stats could not be written to Redis');
      const hash = await withDeadline(
        this.redis.hGetAll(this.keys[0]),
        this.timeoutMs,
        'a cache stats read',
      );
      fields = Object.entries(hash);
    } else {
      fields = this.counters.fields('fields');
    }
    const total = emptySlice();
    const byModel = new Map<string, CacheSliceStats>();
    const byRoute = new Map<string, CacheSliceStats>();
    const bySite = new Map<string, CacheSliceStats>();
    let estimated = false;
    for (const [field, raw] of fields) {
      const value = Number(raw);
      if (!Number.isFinite(value)) continue;
      const parts = field.split('|');
      const name = parts.at(-1) as SliceField | 'estimated';
      if (name === 'estimated') {
        estimated ||= value > 0;
        continue;
      }
      if (!SLICE_FIELDS.includes(name)) continue;
      let slice: CacheSliceStats | undefined;
      if (parts.length === 2 && parts[0] === 't') slice = total;
      else if (parts.length === 3 && parts[0] === 'm')
        slice = sliceOf(byModel, parts[1]!, MAX_MODEL_SERIES);
      else if (parts.length === 3 && parts[0] === 'r')
        slice = sliceOf(byRoute, parts[1]!, MAX_ROUTES);
      else if (parts.length === 3 && parts[0] === 's')
        slice = sliceOf(bySite, parts[1]!, MAX_CALL_SITES + 1);
      if (slice) slice[name] += value;
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
      byModel: record(byModel),
      byRoute: record(byRoute),
      bySite: record(bySite),
    };
  }

  async reset(): Promise<void> {
    this.counters.clear();
    if (this.redis)
      await withDeadline(this.redis.del(this.keys), this.timeoutMs, 'a cache stats reset');
  }

  async onModuleDestroy(): Promise<void> {
    await this.counters.close();
  }
}
