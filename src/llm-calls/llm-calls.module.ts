import {
  Global,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  Optional,
  RequestMethod,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { aroundFastifyRequests, setUpFastify } from '../common/http-exchange';
import { LlmCallContextInterceptor } from './llm-call-context.interceptor';
import { LlmCallContextMiddleware } from './llm-call-context.middleware';
import { LlmCallService } from './llm-call.service';
import { runInRequest } from './request-context';

/**
 * LLM calls made in services (provider SDK clients, the AI SDK, agents) through the same
 * cache, budgets and stats as `@CacheLLM` / `@LLMThrottle` routes. Needs `CachingModule`;
 * budgets apply when `ThrottlingModule` is in the app. Gives every HTTP request's handlers its
 * async context: a middleware on Express, an `onRequest` hook on Fastify (whose Nest middleware
 * sees Node's request, not the one the app's auth sets `request.user` on).
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
  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  configure(consumer: MiddlewareConsumer): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter?.getType() === 'fastify')
      return setUpFastify(adapter, 'LlmCallsModule', (instance) =>
        aroundFastifyRequests(instance, runInRequest),
      );
    consumer
      .apply(LlmCallContextMiddleware)
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
