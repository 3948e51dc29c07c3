import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';

/** Compiles `module` as the app's root module and starts the app (no listen, no logs). */
export async function bootApp(module: new () => unknown): Promise<NestExpressApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
  await app.init();
  return app;
}
