// The spec's app on Express: the Nest starter's test/app.e2e-spec.ts way.
import type { INestApplication } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';

export async function createApp(moduleRef: TestingModule): Promise<INestApplication> {
  const app = moduleRef.createNestApplication();
  await app.init();
  return app;
}
