import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { TestingModule } from '@nestjs/testing';

/** The HTTP platform the e2e specs run on: `TEST_PLATFORM=fastify`, else Express. */
export type TestPlatform = 'express' | 'fastify';

export function testPlatform(): TestPlatform {
  return process.env.TEST_PLATFORM === 'fastify' ? 'fastify' : 'express';
}

/** Fastify's adapter for the Fastify run (`trustProxy` as the spec asks), none for Express. */
export function platformAdapter(
  options: { trustProxy?: boolean } = {},
): FastifyAdapter | undefined {
  if (testPlatform() !== 'fastify') return undefined;
  return new FastifyAdapter({ trustProxy: options.trustProxy ?? false });
}

/**
 * Creates the app of `moduleRef` on the run's platform and initializes it, ready for supertest
 * (`app.getHttpServer()`): on Fastify, after `init()` the instance must also be `ready()`. An
 * app that fails to start is closed before the error is thrown.
 */
export async function startTestApp<T extends INestApplication = INestApplication>(
  moduleRef: TestingModule,
  options: NestApplicationOptions & { trustProxy?: boolean } = {},
  configure?: (app: T) => void | Promise<void>,
): Promise<T> {
  const { trustProxy, ...appOptions } = options;
  const adapter = platformAdapter({ trustProxy });
  const app = (
    adapter
      ? moduleRef.createNestApplication(adapter, { logger: false, ...appOptions })
      : moduleRef.createNestApplication({ logger: false, ...appOptions })
  ) as T;
  try {
    await configure?.(app);
    await app.init();
    await readyForRequests(app);
  } catch (error) {
    // A module that refuses to start (a spec may expect it) still closes what it opened.
    await app.close();
    throw error;
  }
  return app;
}

/** On Fastify, waits for the instance's plugins (`ready()`); a no-op on Express. */
export async function readyForRequests(app: INestApplication): Promise<void> {
  const instance = app.getHttpAdapter().getInstance() as { ready?: () => PromiseLike<unknown> };
  if (testPlatform() === 'fastify' && typeof instance.ready === 'function') await instance.ready();
}
