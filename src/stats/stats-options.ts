import type { StatsSection } from '../common/stats-source';
import { StatsOptionsError } from './stats.errors';
import type { ResolvedStatsOptions, StatsModuleOptions } from './stats-module-options.interface';

export const ALL_SECTIONS: readonly StatsSection[] = ['cache', 'throttling', 'sessions'];
export const DEFAULT_STATS_PATH = 'stats';
const MIN_TOKEN_LENGTH = 16;

const DEFAULTS: Omit<ResolvedStatsOptions, 'token' | 'guard'> = {
  sections: [...ALL_SECTIONS],
  keyPrefix: 'stats:',
  seriesIntervalMs: 10_000,
  seriesPoints: 360,
  snapshotTimeoutMs: 2_000,
  defaultMetrics: true,
  dashboard: true,
  dashboardPollMs: 5_000,
};

/** Merges the defaults once and refuses options that cannot work, saying how to fix them. */
export function resolveStatsOptions(options: StatsModuleOptions = {}): ResolvedStatsOptions {
  const resolved: ResolvedStatsOptions = { ...DEFAULTS };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) Object.assign(resolved, { [key]: value });
  }
  const { token, sections } = resolved;
  if (token !== undefined && (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH)) {
    throw new StatsOptionsError(
      `StatsModule token must be a string of at least ${MIN_TOKEN_LENGTH} characters: ` +
        'generate one with `openssl rand -hex 32`, or leave token unset and use a guard.',
    );
  }
  if (!Array.isArray(sections)) {
    throw new StatsOptionsError(
      `StatsModule sections must be an array, a subset of ${ALL_SECTIONS.join(', ')}; got ${typeof sections}.`,
    );
  }
  const unknown = sections.filter((s) => !ALL_SECTIONS.includes(s));
  if (unknown.length > 0) {
    throw new StatsOptionsError(
      `StatsModule sections must be a subset of ${ALL_SECTIONS.join(', ')}; remove ${unknown.map(String).join(', ')}.`,
    );
  }
  const integers: [keyof ResolvedStatsOptions, number][] = [
    ['seriesIntervalMs', 0],
    ['seriesPoints', 1],
    ['snapshotTimeoutMs', 1],
    ['dashboardPollMs', 100],
  ];
  for (const [key, min] of integers) {
    const value = resolved[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new StatsOptionsError(
        `StatsModule ${key} must be an integer >= ${min}; got ${String(value)}.`,
      );
    }
  }
  if (typeof resolved.keyPrefix !== 'string' || /[{}]/.test(resolved.keyPrefix)) {
    throw new StatsOptionsError(
      'StatsModule keyPrefix must be a string without braces (the module adds its own hash tag).',
    );
  }
  return resolved;
}

/**
 * The controller path with its slashes trimmed; refuses an empty path or one with
 * characters a route cannot hold.
 */
export function normalizeStatsPath(path: string): string {
  const trimmed = typeof path === 'string' ? path.replace(/^\/+|\/+$/g, '') : '';
  if (!/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(trimmed)) {
    throw new StatsOptionsError(
      `StatsModule path must be a non-empty route such as 'stats' or 'admin/stats'; got ${JSON.stringify(path)}.`,
    );
  }
  return trimmed;
}
