import { findRedisBinary, INSTALL_HINT } from './redis-binary';
import { RedisCluster } from './redis-cluster';
import { crossSlotErrors } from './cross-slot';

/** What the cluster project's teardown needs from its setup (both run in Jest's main process). */
export interface SharedCluster {
  cluster?: RedisCluster;
  urls: string[];
  crossSlotsAtStart: number;
}

/**
 * Starts the run's shared 3-master Redis Cluster (unless REDIS_CLUSTER_NODES names one) and
 * passes its nodes to the specs as REDIS_TEST_CLUSTER_NODES (comma-separated URLs).
 */
export default async function globalSetupCluster(): Promise<void> {
  let cluster: RedisCluster | undefined;
  let urls = process.env.REDIS_CLUSTER_NODES?.split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  if (!urls?.length) {
    if (!findRedisBinary()) {
      process.env.REDIS_TEST_UNAVAILABLE = INSTALL_HINT;
      return;
    }
    cluster = await RedisCluster.start();
    urls = cluster.rootNodes.map((node) => node.url);
  }
  const shared: SharedCluster = { cluster, urls, crossSlotsAtStart: await crossSlotErrors(urls) };
  (globalThis as { __REDIS_CLUSTER__?: SharedCluster }).__REDIS_CLUSTER__ = shared;
  process.env.REDIS_TEST_CLUSTER_NODES = urls.join(',');
}
