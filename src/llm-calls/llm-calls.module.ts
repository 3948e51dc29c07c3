import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { LlmCallContextInterceptor } from './llm-call-context.interceptor';
import { LlmCallService } from './llm-call.service';

/**
 * LLM calls made in services (provider SDK clients, the AI SDK, agents) through the same
 * cache, budgets and stats as `@CacheLLM` / `@LLMThrottle` routes. Needs `CachingModule`;
 * budgets apply when `ThrottlingModule` is in the app. Registers a global interceptor that
 * gives every handler its request's async context.
 *
 * @example
 * @Module({ imports: [CachingModule.forRoot({ partitionSecret }), LlmCallsModule] })
 * export class AppModule {}
 */
@Global()
@Module({
  providers: [
    LlmCallService,
    LlmCallContextInterceptor,
    { provide: APP_INTERCEPTOR, useExisting: LlmCallContextInterceptor },
  ],
  exports: [LlmCallService],
})
export class LlmCallsModule {}
