import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { CachingModuleOptions } from './caching-options.interface';

export const {
  ConfigurableModuleClass: CachingConfigurableModule,
  MODULE_OPTIONS_TOKEN: CACHING_MODULE_OPTIONS,
  OPTIONS_TYPE: CACHING_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: CACHING_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<CachingModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
