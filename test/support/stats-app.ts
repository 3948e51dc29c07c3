import type { INestApplication, Provider } from '@nestjs/common';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import type { StatsSection } from '../../src/common/stats-source';
import { RedisModule } from '../../src/redis/redis.module';
import { StatsModule } from '../../src/stats/stats.module';
import type { STATS_OPTIONS_TYPE } from '../../src/stats/stats.module-definition';
import { startTestApp } from './platform';
import { StatsFixtureModule } from './stats-fixtures';
import type { RedisTarget } from './test-redis';

export interface StatsAppOptions {
  /** Key prefix of the fixture sources and of StatsModule's own keys. */
  prefix: string;
  /** Redis (a server or a cluster); without it, everything stays in memory. */
  redis?: RedisTarget;
  /**
   * RedisModule's `commandTimeoutMs`. @default the kit's (2000): only a spec of the deadline sets
   * a short one, so a loaded machine does not turn a slow reply into a 503.
   */
  commandTimeoutMs?: number;
  /** Which fixture sources the app has. */
  sources?: StatsSection[];
  stats?: typeof STATS_OPTIONS_TYPE;
  /** Extra providers of the root module (e.g. a guard). */
  providers?: Provider[];
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
  /** Listen on a free port (for a browser); otherwise only initialized. */
  listen?: boolean;
}

/**
 * An app with StatsModule and the fixture sources, on Redis when `redis` is given, on the run's
 * platform.
 */
export async function startStatsApp(options: StatsAppOptions): Promise<INestApplication> {
  let builder = Test.createTestingModule({
    imports: [
      ...(options.redis
        ? [RedisModule.forRoot({ ...options.redis, commandTimeoutMs: options.commandTimeoutMs })]
        : []),
      StatsFixtureModule.register(options.prefix, options.sources),
      StatsModule.forRoot({ keyPrefix: options.prefix, ...options.stats }),
    ],
    providers: options.providers ?? [],
  });
  if (options.override) builder = options.override(builder);
  const moduleRef = await builder.compile();
  const app = await startTestApp(moduleRef);
  if (options.listen) await app.listen(0, '127.0.0.1');
  return app;
}

/**
 * `start` opens a stats app and remembers it; `closeAll` (for afterEach) closes every app
 * opened since.
 */
export function statsApps(): {
  start: (options: StatsAppOptions) => Promise<INestApplication>;
  closeAll: () => Promise<void>;
} {
  const apps: INestApplication[] = [];
  return {
    start: async (options) => {
      const app = await startStatsApp(options);
      apps.push(app);
      return app;
    },
    closeAll: async () => {
      await Promise.all(apps.splice(0).map((app) => app.close()));
    },
  };
}
