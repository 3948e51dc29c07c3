import { type DynamicModule, Module } from '@nestjs/common';
import {
  CachingModule,
  LlmCallsModule,
  RedisModule,
  SessionModule,
  StatsModule,
  ThrottlingModule,
} from '../src';
import { AgentModule } from './agent/agent.module';
import { AuthController } from './auth/auth.controller';
import { sampleSessionSecret } from './auth/session-secret';
import { GithubController } from './caching/github.controller';
import { LlmModule } from './llm/llm.module';
import { samplePartitionSecret } from './partition-secret';
import type { SampleOptions } from './sample-options';
import { SampleTelemetryModule } from './telemetry.module';
import { sampleThrottlingOptions } from './throttling.config';

function redisModule(options: SampleOptions): DynamicModule[] {
  if (options.redisCluster) return [RedisModule.forRoot({ cluster: options.redisCluster })];
  return options.redisUrl ? [RedisModule.forRoot({ url: options.redisUrl })] : [];
}

/**
 * TRUST_PROXY: the hops the rate limits trust, the session's proxy trust (a Secure cookie is
 * sent when the proxy says the client used https), and on Fastify the instance's `trustProxy`.
 */
export function sampleTrustProxy(options: SampleOptions): number {
  return options.trustProxy ?? sampleThrottlingOptions().trustProxy ?? 0;
}

@Module({})
export class AppModule {
  static register(options: SampleOptions): DynamicModule {
    const trustProxy = sampleTrustProxy(options);
    return {
      module: AppModule,
      imports: [
        ...redisModule(options),
        CachingModule.forRoot({
          // The demo value outside production only (with a warning): set CACHE_PARTITION_SECRET.
          partitionSecret: samplePartitionSecret(options.cachePartitionSecret),
          ...options.caching,
        }),
        SessionModule.forRoot({
          secret: sampleSessionSecret(options.sessionSecret) as string,
          maxSessionsPerUser: 5,
          ...(trustProxy > 0 && { proxy: true }),
          ...options.session,
        }),
        LlmModule,
        // h15: LLM calls made in services (agent, queue job, AI SDK chat) through the kit.
        LlmCallsModule,
        AgentModule,
        ThrottlingModule.forRoot({
          ...sampleThrottlingOptions(),
          trustProxy,
          ...options.throttling,
        }),
        // GET /stats, /stats/cache, /stats/metrics, /stats/dashboard; STATS_TOKEN protects them
        // and enables reset.
        StatsModule.forRoot({ token: options.statsToken }),
        // Flushes the OpenTelemetry SDK that main.ts started, if any (sample/telemetry.ts).
        SampleTelemetryModule,
      ],
      controllers: [AuthController, GithubController],
    };
  }
}
