import { type DynamicModule, Module } from '@nestjs/common';
import { RedisModule, SessionModule, StatsModule } from '../src';
import { AuthController } from './auth/auth.controller';
import { sampleSessionSecret } from './auth/session-secret';
import { LlmModule } from './llm/llm.module';
import type { SampleOptions } from './sample-options';

@Module({})
export class AppModule {
  static register(options: SampleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...(options.redisUrl ? [RedisModule.forRoot({ url: options.redisUrl })] : []),
        SessionModule.forRoot({
          secret: sampleSessionSecret(options.sessionSecret) as string,
          maxSessionsPerUser: 5,
          ...options.session,
        }),
        LlmModule,
        // GET /stats, /stats/metrics, /stats/dashboard; STATS_TOKEN protects them and enables reset.
        StatsModule.forRoot({ token: options.statsToken }),
      ],
      controllers: [AuthController],
    };
  }
}
