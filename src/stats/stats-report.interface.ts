import type { StatsSection } from '../common/stats-source';
import type {
  CacheStatsSnapshot,
  SessionStatsSnapshot,
  ThrottlingStatsSnapshot,
} from '../common/stats-shapes';

/** The snapshot type of each section. */
export interface StatsSectionSnapshots {
  cache: CacheStatsSnapshot;
  throttling: ThrottlingStatsSnapshot;
  sessions: SessionStatsSnapshot;
}

/** This instance's process figures (the only part of `GET /stats` that is per instance). */
export interface ProcessStats {
  uptimeS: number;
  memory: NodeJS.MemoryUsage;
}

/**
 * `GET /stats`. A configured section is `null` when its module is not imported or its
 * figures could not be read (then it is also listed in `unavailable`); a section left out by
 * the `sections` option is absent.
 */
export interface StatsReport {
  cache?: CacheStatsSnapshot | null;
  throttling?: ThrottlingStatsSnapshot | null;
  sessions?: SessionStatsSnapshot | null;
  process: ProcessStats;
  /** Sections whose source failed or timed out (Redis unreachable, for example). */
  unavailable: StatsSection[];
}

/** One point of the dashboard's time series: cumulative totals at time `t`. */
export interface StatsSeriesPoint {
  /** Start of the interval, ms since the epoch. */
  t: number;
  hits: number | null;
  misses: number | null;
  coalesced: number | null;
  savingsUsd: number | null;
  allowed: number | null;
  rejected: number | null;
  sessionsActive: number | null;
}

/** `GET /stats/series`: the recent points, oldest first. */
export interface StatsSeries {
  intervalMs: number;
  points: StatsSeriesPoint[];
}
