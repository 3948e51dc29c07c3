import { SetMetadata } from '@nestjs/common';

/** The sections of `GET /stats`, one per module. */
export type StatsSection = 'cache' | 'throttling' | 'sessions';

/**
 * A module's counters, as `StatsModule` reads them. With Redis, `snapshot()` returns the
 * cluster-wide figures in O(1) round trips (counters in hashes, never a SCAN over data keys).
 */
export interface StatsSnapshotSource<T extends object = object> {
  snapshot(): Promise<T>;
  reset(): Promise<void>;
}

export const STATS_SOURCE_METADATA = 'nestjs-llm-kit:stats-source';

/**
 * Marks a provider as the stats source of a section; `StatsModule` finds it by discovery, so
 * modules work without StatsModule and StatsModule works with any subset of them.
 *
 * @example
 * @StatsSource('cache')
 * @Injectable()
 * export class LlmCacheStats implements StatsSnapshotSource<CacheStats> { ... }
 */
export const StatsSource = (section: StatsSection): ClassDecorator =>
  SetMetadata(STATS_SOURCE_METADATA, section);
