import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { BudgetSettleInterceptor } from './budget-settle.interceptor';
import {
  LLM_THROTTLE_METADATA,
  RATE_LIMIT_METADATA,
  SKIP_RATE_LIMIT_METADATA,
} from './throttling.internal-constants';
import type { InlineRateLimit, LlmThrottleOptions } from './throttling-options.interface';

/**
 * Applies request limits to a route or controller: preset or configured policy names, or
 * inline limits. A method's decorator replaces its controller's. The global limit still applies.
 *
 * @example
 * @RateLimit('expensive')
 * @Post('summarize') summarize() {}
 *
 * @RateLimit({ limit: 5, ttlMs: 60_000, by: 'user' })
 * @Post('export') export() {}
 */
export const RateLimit = (
  ...limits: [string | InlineRateLimit, ...(string | InlineRateLimit)[]]
): MethodDecorator & ClassDecorator => applyDecorators(SetMetadata(RATE_LIMIT_METADATA, limits));

/**
 * Protects an LLM route: the `llm` request limit (20/min by default) plus optional token and
 * dollar budgets, reserved on admission and settled to the response's real usage. Requests the
 * LLM cache will answer consume nothing unless `countCacheHits` is true.
 *
 * @example
 * @LLMThrottle({ tokensPerMinute: 40_000, usdPerDay: 5, by: 'user' })
 * @Post('generate') generate(@Body() body: ChatRequest) {}
 */
export const LLMThrottle = (options: LlmThrottleOptions = {}): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(LLM_THROTTLE_METADATA, options),
    UseInterceptors(BudgetSettleInterceptor),
  );

/**
 * Exempts a route or controller from every limit, the global one included.
 *
 * @example
 * @SkipRateLimit()
 * @Get('health') health() {}
 */
export const SkipRateLimit = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(SKIP_RATE_LIMIT_METADATA, true));
