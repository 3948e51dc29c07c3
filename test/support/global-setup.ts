import { RedisServer } from './redis-server';
import { findRedisBinary, INSTALL_HINT } from './redis-binary';

/**
 * Starts the run's shared redis-server (unless REDIS_URL names one) and passes its URL to
 * the specs as REDIS_TEST_URL. With neither a binary nor a URL, the Redis specs fail with
 * REDIS_TEST_UNAVAILABLE's message; they are never skipped.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) {
    process.env.REDIS_TEST_URL = process.env.REDIS_URL;
    return;
  }
  if (!findRedisBinary()) {
    process.env.REDIS_TEST_UNAVAILABLE = INSTALL_HINT;
    return;
  }
  const server = await RedisServer.start();
  (globalThis as { __REDIS_SERVER__?: RedisServer }).__REDIS_SERVER__ = server;
  process.env.REDIS_TEST_URL = server.url;
}
