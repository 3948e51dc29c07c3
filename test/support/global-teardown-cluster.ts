import { CrossSlotError, crossSlotErrors } from './cross-slot';
import type { SharedCluster } from './global-setup-cluster';

/**
 * Stops the shared cluster, and fails the run if it answered CROSSSLOT at any point (the
 * per-test guard cannot see what spec-level afterAll hooks did).
 */
export default async function globalTeardownCluster(): Promise<void> {
  const shared = (globalThis as { __REDIS_CLUSTER__?: SharedCluster }).__REDIS_CLUSTER__;
  if (!shared) return;
  const rose = (await crossSlotErrors(shared.urls)) - shared.crossSlotsAtStart;
  // stop() would throw the same finding, worded for a spec's own cluster.
  await shared.cluster?.stop().catch(() => undefined);
  if (rose > 0) throw new CrossSlotError(rose, 'the shared Redis Cluster during this run');
}
