import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import type { SampleOptions } from './sample-options';

/**
 * Builds the sample app; `main.ts`, the e2e specs and the bench all start it this way.
 * `logger`: `true` Nest's console logger, `false` none, or a `LoggerService` of your own.
 */
export async function createSampleApp(
  options: SampleOptions,
  logger: boolean | LoggerService = true,
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(options), {
    logger: logger === true ? undefined : logger,
    bodyParser: false,
  });
  // Prompts can be long: accept JSON bodies up to 2 MB; larger ones get 413.
  app.useBodyParser('json', { limit: '2mb' });
  app.enableShutdownHooks();
  return app;
}
