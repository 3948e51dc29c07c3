import { ConfigurableModuleBuilder } from '@nestjs/common';
import { createStatsController } from './stats.controller';
import type { StatsModuleOptions } from './stats-module-options.interface';
import { DEFAULT_STATS_PATH } from './stats-options';

export const {
  ConfigurableModuleClass: StatsConfigurableModule,
  MODULE_OPTIONS_TOKEN: STATS_MODULE_OPTIONS,
  OPTIONS_TYPE: STATS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: STATS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<StatsModuleOptions>()
  .setClassMethodName('forRoot')
  // The route prefix must be known when the module is declared (before any factory runs),
  // so `path` sits beside the options, in forRoot and forRootAsync alike.
  .setExtras({ path: DEFAULT_STATS_PATH }, (definition, extras) => ({
    ...definition,
    controllers: [createStatsController(extras.path)],
  }))
  .build();
