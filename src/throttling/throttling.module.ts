import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { RESOLVED_THROTTLING_OPTIONS } from './throttling.internal-constants';
import {
  ThrottlingConfigurableModule,
  THROTTLING_MODULE_OPTIONS,
} from './throttling.module-definition';
import { resolveThrottlingOptions } from './throttling-options';
import type { ThrottlingModuleOptions } from './throttling-options.interface';
import { ThrottlingGuard } from './throttling.guard';
import { ThrottlingService } from './throttling.service';
import { ChargeLedger } from './charge-ledger';
import { ThrottlingStats } from './throttling-stats.service';

/**
 * Rate limits by requests, LLM tokens and dollars. Registers its guard globally (`@LLMThrottle`
 * adds the budget-settling interceptor to its own routes); uses Redis when `RedisModule` is imported (one EVALSHA per request),
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
    ChargeLedger,
    ThrottlingGuard,
    { provide: APP_GUARD, useExisting: ThrottlingGuard },
  ],
  // The options too: `@UseGuards(ThrottlingGuard)` (a gateway, as @nestjs/throttler's recipe
  // binds its guard) makes another instance in the importing module.
  exports: [
    ThrottlingService,
    ThrottlingStats,
    ChargeLedger,
    ThrottlingGuard,
    RESOLVED_THROTTLING_OPTIONS,
  ],
})
export class ThrottlingModule extends ThrottlingConfigurableModule {}
