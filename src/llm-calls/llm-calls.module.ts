import {
  Global,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import { LlmCallContextInterceptor } from './llm-call-context.interceptor';
import { LlmCallContextMiddleware } from './llm-call-context.middleware';
import { LlmCallService } from './llm-call.service';

/**
 * LLM calls made in services (provider SDK clients, the AI SDK, agents) through the same
 * cache, budgets and stats as `@CacheLLM` / `@LLMThrottle` routes. Needs `CachingModule`;
 * budgets apply when `ThrottlingModule` is in the app. Applies a middleware to every HTTP
 * route that gives the request's handlers its async context.
 *
 * @example
 * @Module({ imports: [CachingModule.forRoot({ partitionSecret }), LlmCallsModule] })
 * export class AppModule {}
 */
@Global()
@Module({
  providers: [LlmCallService, LlmCallContextInterceptor],
  exports: [LlmCallService, LlmCallContextInterceptor],
})
export class LlmCallsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(LlmCallContextMiddleware)
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
