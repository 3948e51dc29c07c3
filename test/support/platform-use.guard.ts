// setupFilesAfterEnv of e2e-standalone and the Fastify projects: the platform lists cannot hide
// what a spec runs on.
// - In a Fastify project, a spec that created no FastifyAdapter app fails: it still builds its
//   apps on Express (convert it to test/support/platform.ts), or it belongs in
//   express-only-specs.json (it tests an Express-only peer) or no-http-specs.json.
// - A spec in no-http-specs.json (which the Fastify projects skip, as starting no HTTP app)
//   fails if it created a Nest HTTP app on either platform.
// Both count the adapters' `initHttpServer`, which every Nest application calls when it is
// created (NestFactory.create, createNestApplication).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const testPath = (expect.getState().testPath ?? '').replaceAll('\\', '/');
const listedIn = (file: string) =>
  (JSON.parse(readFileSync(join(__dirname, file), 'utf8')) as string[]).some((spec) =>
    testPath.endsWith(`/${spec}`),
  );

/** Counts the apps created on `adapter` from now on (the spec file's module registry). */
function countApps(adapter: { prototype: { initHttpServer(...args: unknown[]): unknown } }) {
  const counter = { apps: 0 };
  const { initHttpServer } = adapter.prototype;
  adapter.prototype.initHttpServer = function (this: unknown, ...args: unknown[]) {
    counter.apps += 1;
    return initHttpServer.apply(this, args);
  };
  return counter;
}

// TEST_PLATFORM read as test/support/platform.ts reads it (importing that would load Fastify into
// every Express spec file).
if (process.env.TEST_PLATFORM === 'fastify') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fastify = countApps(require('@nestjs/platform-fastify').FastifyAdapter);
  afterAll(() => {
    if (fastify.apps === 0)
      throw new Error(
        `${testPath} ran in a Fastify project but started no app on FastifyAdapter: start its ` +
          'apps with test/support/platform.ts (startTestApp), or list it in ' +
          'test/support/express-only-specs.json (it exists only on Express)',
      );
  });
} else if (listedIn('no-http-specs.json')) {
  const apps = [
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    countApps(require('@nestjs/platform-express').ExpressAdapter),
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    countApps(require('@nestjs/platform-fastify').FastifyAdapter),
  ];
  afterAll(() => {
    if (apps.some((counter) => counter.apps > 0))
      throw new Error(
        `${testPath} started a Nest HTTP app: take it out of test/support/no-http-specs.json, ` +
          'the Fastify projects must run it',
      );
  });
}
