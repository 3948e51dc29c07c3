import type { INestApplication, LoggerService, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyServerOptions } from 'fastify';
import { AppModule, sampleTrustProxy } from './app.module';
import type { SampleOptions, SamplePlatform } from './sample-options';

/** Prompts can be long: JSON bodies up to 2 MB are accepted; larger ones get 413. */
const BODY_LIMIT_BYTES = 2 * 1024 * 1024;

/** Where the sample is served: the platform (`PLATFORM`), and the Fastify instance's options. */
export interface SampleServing<P extends SamplePlatform = SamplePlatform> {
  /** `'express'` (the default) or `'fastify'`. */
  platform?: P;
  /**
   * Fastify only: options of the Fastify instance over the sample's (`bodyLimit` 2 MB,
   * `trustProxy` the `TRUST_PROXY` hops), e.g. a spec's `trustProxy: 'loopback'`.
   */
  fastify?: FastifyServerOptions;
}

/**
 * Builds the sample app on Express, or on Fastify with `serving.platform: 'fastify'`; `main.ts`,
 * the e2e specs and the bench all start it this way. `logger`: `true` Nest's console logger,
 * `false` none, or a `LoggerService` of your own.
 */
export async function createSampleApp(
  options: SampleOptions,
  logger?: boolean | LoggerService,
  serving?: SampleServing<'express'>,
): Promise<NestExpressApplication>;
export async function createSampleApp(
  options: SampleOptions,
  logger: boolean | LoggerService,
  serving: SampleServing<'fastify'> & { platform: 'fastify' },
): Promise<NestFastifyApplication>;
export async function createSampleApp(
  options: SampleOptions,
  logger?: boolean | LoggerService,
  serving?: SampleServing,
): Promise<NestExpressApplication | NestFastifyApplication>;
export async function createSampleApp(
  options: SampleOptions,
  logger: boolean | LoggerService = true,
  serving: SampleServing = {},
): Promise<INestApplication> {
  const module = AppModule.register(options);
  const appOptions: NestApplicationOptions = { logger: logger === true ? undefined : logger };
  let app: INestApplication;
  if (serving.platform === 'fastify') {
    // Loaded only here: the sample on Express does not need @nestjs/platform-fastify.
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    const hops = sampleTrustProxy(options);
    const adapter = new FastifyAdapter({
      bodyLimit: BODY_LIMIT_BYTES,
      // Fastify's numeric trustProxy (the client is `hops` proxies away), as a function.
      trustProxy: hops > 0 ? (_address: string, hop: number) => hop < hops : false,
      ...serving.fastify,
    });
    app = await NestFactory.create<NestFastifyApplication>(module, adapter, appOptions);
  } else {
    const express = await NestFactory.create<NestExpressApplication>(module, {
      ...appOptions,
      bodyParser: false,
    });
    express.useBodyParser('json', { limit: BODY_LIMIT_BYTES });
    app = express;
  }
  app.enableShutdownHooks();
  return app;
}
