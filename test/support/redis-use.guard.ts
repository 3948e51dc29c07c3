// The e2e-standalone project's setupFilesAfterEnv: a spec listed in no-redis-specs.json (which
// the cluster project skips, as never reaching Redis) fails if it opened a connection to the
// run's Redis, so the list cannot hide a Redis path from the cluster run. The count is the
// server's `total_connections_received`, read before and after the file (the second read's own
// connection is the one expected); a REDIS_URL given from outside may have other clients, and
// is not counted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';

const noRedisSpecs = JSON.parse(
  readFileSync(join(__dirname, 'no-redis-specs.json'), 'utf8'),
) as string[];
const testPath = (expect.getState().testPath ?? '').replaceAll('\\', '/');
const listed = noRedisSpecs.some((spec) => testPath.endsWith(`/${spec}`));

async function connectionsReceived(url: string): Promise<number> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const info = await client.info('stats');
    return Number(/total_connections_received:(\d+)/.exec(info)?.[1]);
  } finally {
    client.destroy();
  }
}

if (listed && !process.env.REDIS_URL) {
  let before = 0;
  beforeAll(async () => {
    before = await connectionsReceived(process.env.REDIS_TEST_URL!);
  });
  afterAll(async () => {
    const opened = (await connectionsReceived(process.env.REDIS_TEST_URL!)) - before - 1;
    if (opened > 0)
      throw new Error(
        `${testPath} opened ${opened} Redis connection(s): take it out of ` +
          'test/support/no-redis-specs.json, the cluster project must run it',
      );
  });
}
