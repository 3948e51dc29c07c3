import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { optionalRequire } from '../common/optional-require';
import { StatsAuthGuard } from './stats-auth.guard';
import { StatsMetricsService } from './stats-metrics.service';
import type { StatsModuleOptions } from './stats-module-options.interface';
import { resolveStatsOptions } from './stats-options';
import { StatsSeriesService } from './stats-series.service';
import { PROM_CLIENT, STATS_OPTIONS } from './stats.constants';
import {
  STATS_ASYNC_OPTIONS_TYPE,
  STATS_MODULE_OPTIONS,
  STATS_OPTIONS_TYPE,
  StatsConfigurableModule,
} from './stats.module-definition';
import { StatsService } from './stats.service';

/**
 * `GET /stats` and friends: the figures of the caching, throttling and session modules
 * (cluster-wide with Redis), Prometheus metrics and a live dashboard. The sources are found
 * by discovery, so import StatsModule beside whichever of the modules you use.
 *
 * @example
 * StatsModule.forRoot({ path: 'stats', token: process.env.STATS_TOKEN })
 * StatsModule.forRootAsync({
 *   path: 'admin/stats',
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ token: config.get('STATS_TOKEN') }),
 * })
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: STATS_OPTIONS,
      inject: [STATS_MODULE_OPTIONS],
      useFactory: (options: StatsModuleOptions) => resolveStatsOptions(options),
    },
    { provide: PROM_CLIENT, useFactory: () => optionalRequire<object>('prom-client') },
    StatsService,
    StatsSeriesService,
    StatsMetricsService,
    StatsAuthGuard,
  ],
  exports: [StatsService, StatsSeriesService, StatsMetricsService],
})
export class StatsModule extends StatsConfigurableModule {
  static override forRoot(options: typeof STATS_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  static override forRootAsync(options: typeof STATS_ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
