import type { NestExpressApplication } from '@nestjs/platform-express';
import { createSampleApp } from '../../sample/app.factory';
import type { SampleOptions } from '../../sample/sample-options';

/** The sample app, initialized (not listening): hand `app.getHttpServer()` to supertest. */
export async function startSampleApp(options: SampleOptions = {}): Promise<NestExpressApplication> {
  const app = await createSampleApp(options, false);
  await app.init();
  return app;
}
