// The Fastify projects' setupFiles: every app the spec starts through test/support/platform.ts
// (startTestApp, platformAdapter, the sample's startSampleApp) runs on FastifyAdapter. Jest gives
// each spec file its own copy of process.env, so the Express projects in the same process are
// not affected.
process.env.TEST_PLATFORM = 'fastify';
