import { type DynamicModule, Module } from '@nestjs/common';
import { RedisModule, SessionModule } from '../src';
import { AuthController } from './auth/auth.controller';
import { sampleSessionSecret } from './auth/session-secret';
import { LlmModule } from './llm/llm.module';
import type { SampleOptions } from './sample-options';
import { SampleStatsController } from './stats/stats.controller';

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
      ],
      controllers: [AuthController, SampleStatsController],
    };
  }
}
