import type { INestApplication, LoggerService } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createSampleApp } from '../../sample/app.factory';
import type { SampleOptions } from '../../sample/sample-options';
import type { ThrottlingModuleOptions } from '../../src';
import { readyForRequests, testPlatform } from './platform';
import { uniquePrefix } from './test-redis';

/** How the spec's client reaches the app. */
export interface SampleServing {
  /**
   * The trusted proxies' addresses (`'loopback'` for supertest's X-Forwarded-For): Express's
   * `trust proxy` setting, Fastify's `trustProxy` option.
   */
  trustProxy?: string;
  /** The app's logger (a spec that reads its log lines). @default false */
  logger?: boolean | LoggerService;
}

/**
 * The sample app on the run's platform (test/support/platform.ts), initialized (not
 * listening): hand `app.getHttpServer()` to supertest. The type is the caller's assertion, as
 * with `startTestApp` (Express's by default; on Fastify `set()` and the other Express-only
 * methods are absent).
 */
export async function startSampleApp<T extends INestApplication = NestExpressApplication>(
  options: SampleOptions = {},
  serving: SampleServing = {},
): Promise<T> {
  const platform = testPlatform();
  const app: INestApplication = await createSampleApp(options, serving.logger ?? false, {
    platform,
    ...(serving.trustProxy !== undefined && { fastify: { trustProxy: serving.trustProxy } }),
  });
  if (platform === 'express' && serving.trustProxy !== undefined)
    (app as NestExpressApplication).set('trust proxy', serving.trustProxy);
  await app.init();
  await readyForRequests(app);
  return app as T;
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
