import type { CanActivate, Type } from '@nestjs/common';
import type { StatsSection } from '../common/stats-source';

/**
 * Options of `StatsModule.forRoot()` / the factory of `forRootAsync()`. The route prefix is
 * not here: it is `path`, given beside them (see `StatsModule`).
 */
export interface StatsModuleOptions {
  /**
   * A bearer token every stats route requires (`Authorization: Bearer <token>`); at least 16
   * characters. Without `token` and `guard` the read routes are public and
   * `POST <path>/reset` answers 403.
   * @default undefined (no token)
   */
  token?: string;
  /**
   * A guard (class or instance) every stats route must pass, e.g. your admin guard. With
   * `token` too, a request must satisfy both. A class is taken from the app's providers
   * when it is one, otherwise instantiated by the module.
   * @default undefined (no guard)
   */
  guard?: Type<CanActivate> | CanActivate;
  /**
   * The sections `GET <path>` reports; a section left out is absent from the JSON, its
   * route answers 404 and its metrics are not exported.
   * @default ['cache', 'throttling', 'sessions']
   */
  sections?: StatsSection[];
  /**
   * Prefix of the module's own Redis keys (the dashboard's time series).
   * @default 'stats:'
   */
  keyPrefix?: string;
  /**
   * How often a point of the time series is recorded (once per interval for the whole
   * cluster, whichever instance comes first), in ms. `0` turns the series off.
   * @default 10000 (ms)
   */
  seriesIntervalMs?: number;
  /**
   * How many points of the time series are kept (the oldest are dropped).
   * @default 360 (one hour at the default interval)
   */
  seriesPoints?: number;
  /**
   * How long one section's snapshot may take before that section is reported unavailable
   * (and how long `POST <path>/reset` waits for each section).
   * @default 2000 (ms)
   */
  snapshotTimeoutMs?: number;
  /**
   * Whether `GET <path>/metrics` also exports prom-client's process default metrics.
   * @default true
   */
  defaultMetrics?: boolean;
  /**
   * Whether `GET <path>/dashboard` serves the HTML dashboard.
   * @default true
   */
  dashboard?: boolean;
  /**
   * How often the dashboard page polls `GET <path>`, in ms.
   * @default 5000 (ms)
   */
  dashboardPollMs?: number;
}

/** The options with every default filled in and validated. */
export interface ResolvedStatsOptions extends Required<
  Omit<StatsModuleOptions, 'token' | 'guard'>
> {
  token?: string;
  guard?: Type<CanActivate> | CanActivate;
}
