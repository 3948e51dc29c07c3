import type { NestExpressApplication } from '@nestjs/platform-express';
import { createSampleApp } from '../../sample/app.factory';
import type { SampleOptions } from '../../sample/sample-options';
import type { ThrottlingModuleOptions } from '../../src';
import { uniquePrefix } from './test-redis';

/** The sample app, initialized (not listening): hand `app.getHttpServer()` to supertest. */
export async function startSampleApp(options: SampleOptions = {}): Promise<NestExpressApplication> {
  const app = await createSampleApp(options, false);
  await app.init();
  return app;
}

/**
 * Sample rate limits too high to matter, under a key prefix of the spec's own: for specs of
 * other modules that send many `/llm/generate` requests from one address.
 */
export function relaxedThrottling(): ThrottlingModuleOptions {
  const plenty = { limit: 1_000_000, ttlMs: 60_000 };
  return {
    keyPrefix: uniquePrefix('rl'),
    global: plenty,
    policies: { llm: plenty, expensive: plenty },
    llm: { tokensPerMinute: 1_000_000_000, usdPerDay: 1_000_000 },
  };
}
