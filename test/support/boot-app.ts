import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { startTestApp } from './platform';

/**
 * Compiles `module` as the app's root module and starts the app on the run's platform
 * (`TEST_PLATFORM`; no listen, no logs).
 */
export async function bootApp<T extends INestApplication = INestApplication>(
  module: new () => unknown,
): Promise<T> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  return startTestApp<T>(moduleRef);
}
