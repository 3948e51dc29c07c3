import { Inject, Logger, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { setUpFastify } from '../common/http-exchange';
import { REDIS_CLIENT } from '../redis/redis.constants';
import type { RedisConnection } from '../redis/redis.types';
import { SESSION_RUNTIME } from './session.constants';
import { SessionExceptionFilter } from './session-exception.filter';
import type { SessionModuleOptions } from './session-module-options.interface';
import { resolveSessionOptions } from './session-options.resolver';
import { type FastifyInstanceLike, registerFastifySessions } from './session-platform';
import { SessionRuntime } from './session-runtime';
import { SessionGuard } from './session.guard';
import { SESSION_MODULE_OPTIONS, SessionConfigurableModule } from './session.module-definition';
import { SessionService } from './session.service';
import { SessionStats } from './session.stats';

/**
 * Sessions secure by default: signed `__Host-` cookie, ids hashed in Redis, per-user index,
 * idle + absolute expiry, fixation defence, revocation. Applies the platform's session plugin
 * itself with the kit's store on the shared Redis connection when `RedisModule` is imported,
 * else a bounded in-process store: `express-session` on Express (every route, or `routes`),
 * `@fastify/cookie` + `@fastify/session` on Fastify (every route).
 *
 * @example
 * @Module({
 *   imports: [
 *     RedisModule.forRoot({ url: process.env.REDIS_URL }),
 *     SessionModule.forRoot({ secret: process.env.SESSION_SECRET!, maxSessionsPerUser: 5 }),
 *   ],
 * })
 * export class AppModule {}
 */
@Module({
  providers: [
    {
      provide: SESSION_RUNTIME,
      inject: [SESSION_MODULE_OPTIONS, { token: REDIS_CLIENT, optional: true }],
      useFactory: (options: SessionModuleOptions, redis?: RedisConnection) =>
        new SessionRuntime(resolveSessionOptions(options), redis),
    },
    SessionService,
    SessionStats,
    SessionGuard,
    { provide: APP_FILTER, useClass: SessionExceptionFilter },
  ],
  exports: [SessionService, SessionStats, SessionGuard],
})
export class SessionModule extends SessionConfigurableModule implements NestModule {
  constructor(
    @Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    super();
    new Logger('SessionModule').log(runtime.describe());
  }

  // Nest runs this before it registers the routes, so on Fastify the plugin's hooks, added
  // to the root instance here, run for every route.
  async configure(consumer: MiddlewareConsumer): Promise<void> {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() === 'fastify')
      return setUpFastify(adapter, 'SessionModule', (instance) =>
        registerFastifySessions(instance as FastifyInstanceLike, this.runtime),
      );
    const { routes, exclude } = this.runtime.options;
    const proxy = consumer.apply(this.runtime.handler);
    if (exclude.length > 0) proxy.exclude(...exclude);
    // Every route: the path '/' is mounted with Express `use('/')`, which runs for every
    // request without matching a pattern ('*path' is a route whose regexp runs each time).
    proxy.forRoutes(...(routes.length > 0 ? routes : ['/']));
  }
}
