import { Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { BudgetSettleInterceptor } from './budget-settle.interceptor';
import { RESOLVED_THROTTLING_OPTIONS } from './throttling.internal-constants';
import {
  ThrottlingConfigurableModule,
  THROTTLING_MODULE_OPTIONS,
} from './throttling.module-definition';
import { resolveThrottlingOptions } from './throttling-options';
import type { ThrottlingModuleOptions } from './throttling-options.interface';
import { ThrottlingGuard } from './throttling.guard';
import { ThrottlingService } from './throttling.service';
import { ThrottlingStats } from './throttling-stats.service';

/**
 * Rate limits by requests, LLM tokens and dollars. Registers its guard and settling
 * interceptor globally; uses Redis when `RedisModule` is imported (one EVALSHA per request),
 * an embedded memory store otherwise. Options are validated at start-up.
 *
 * @example
 * ThrottlingModule.forRoot({
 *   global: { limit: 200, ttlMs: 60_000 },
 *   llm: { tokensPerMinute: 40_000, usdPerDay: 5 },
 *   trustProxy: 1,
 * })
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: RESOLVED_THROTTLING_OPTIONS,
      inject: [THROTTLING_MODULE_OPTIONS],
      useFactory: (options: ThrottlingModuleOptions) => resolveThrottlingOptions(options),
    },
    ThrottlingService,
    ThrottlingStats,
    ThrottlingGuard,
    BudgetSettleInterceptor,
    { provide: APP_GUARD, useExisting: ThrottlingGuard },
    { provide: APP_INTERCEPTOR, useExisting: BudgetSettleInterceptor },
  ],
  exports: [ThrottlingService, ThrottlingStats, ThrottlingGuard],
})
export class ThrottlingModule extends ThrottlingConfigurableModule {}
