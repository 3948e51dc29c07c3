import { StatsOptionsError } from './stats.errors';
import { normalizeStatsPath, resolveStatsOptions } from './stats-options';

describe('resolveStatsOptions', () => {
  it('fills in every default', () => {
    expect(resolveStatsOptions()).toEqual({
      sections: ['cache', 'throttling', 'sessions'],
      keyPrefix: 'stats:',
      seriesIntervalMs: 10_000,
      seriesPoints: 360,
      snapshotTimeoutMs: 2_000,
      defaultMetrics: true,
      dashboard: true,
      dashboardPollMs: 5_000,
    });
  });

  it('keeps what is given and ignores undefined values', () => {
    const resolved = resolveStatsOptions({
      seriesPoints: 10,
      keyPrefix: undefined,
      token: 'x'.repeat(16),
    });
    expect(resolved).toMatchObject({
      seriesPoints: 10,
      keyPrefix: 'stats:',
      token: 'x'.repeat(16),
    });
  });

  it.each([
    ['a short token', { token: 'short' }, 'at least 16 characters'],
    ['an unknown section', { sections: ['cache', 'billing'] }, 'remove billing'],
    [
      'sections that are not a list',
      { sections: 'cache' },
      'must be an array, a subset of cache, throttling, sessions; got string',
    ],
    ['a negative interval', { seriesIntervalMs: -1 }, 'seriesIntervalMs must be an integer >= 0'],
    ['no points', { seriesPoints: 0 }, 'seriesPoints must be an integer >= 1'],
    ['a fractional timeout', { snapshotTimeoutMs: 1.5 }, 'snapshotTimeoutMs'],
    ['a too fast poll', { dashboardPollMs: 10 }, 'dashboardPollMs must be an integer >= 100'],
    ['a prefix with a brace', { keyPrefix: 'a{b}:' }, 'without braces'],
  ])('refuses %s with a message that says how to fix it', (_, options, message) => {
    expect(() => resolveStatsOptions(options as never)).toThrow(StatsOptionsError);
    expect(() => resolveStatsOptions(options as never)).toThrow(message);
  });
});

describe('normalizeStatsPath', () => {
  it.each([
    ['stats', 'stats'],
    ['/admin/stats/', 'admin/stats'],
    ['v1/ops-stats', 'v1/ops-stats'],
  ])('turns %j into %j', (input, output) => {
    expect(normalizeStatsPath(input)).toBe(output);
  });

  it.each(['', '/', 'a//b', 'stats?x=1', 'stats/:id', 'a b'])('refuses %j', (input) => {
    expect(() => normalizeStatsPath(input)).toThrow(StatsOptionsError);
  });
});
