import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ThrottlingModuleOptions } from './throttling-options.interface';

export const {
  ConfigurableModuleClass: ThrottlingConfigurableModule,
  MODULE_OPTIONS_TOKEN: THROTTLING_MODULE_OPTIONS,
  OPTIONS_TYPE: THROTTLING_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: THROTTLING_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ThrottlingModuleOptions>().setClassMethodName('forRoot').build();
