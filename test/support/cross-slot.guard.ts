// The e2e-cluster project's setupFilesAfterEnv: a test during which any master of the shared
// cluster, or of a cluster the spec started, answered CROSSSLOT fails. Cluster-unsafe code
// often swallows the error (a cache BYPASS, an `open` rate limit), so the servers are asked.
import { CrossSlotError, crossSlotErrors } from './cross-slot';
import { RedisCluster } from './redis-cluster';
import { testRedisOptions } from './test-redis';

const sharedUrls = (): string[] => {
  const target = testRedisOptions();
  return 'cluster' in target ? target.cluster.rootNodes.map((node) => node.url) : [];
};
let sharedSeen = 0;

beforeAll(async () => {
  sharedSeen = await crossSlotErrors(sharedUrls());
});

afterEach(async () => {
  const shared = await crossSlotErrors(sharedUrls());
  let rose = shared - sharedSeen;
  sharedSeen = shared;
  for (const cluster of RedisCluster.running) rose += await cluster.takeCrossSlotErrors();
  if (rose > 0) throw new CrossSlotError(rose, 'the Redis Cluster during this test');
});
