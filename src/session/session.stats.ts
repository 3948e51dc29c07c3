import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { SessionStatsSnapshot } from '../common/stats-shapes';
import { StatsSource, type StatsSnapshotSource } from '../common/stats-source';
import { SESSION_RUNTIME } from './session.constants';
import type { SessionRuntime } from './session-runtime';

const NONE: SessionStatsSnapshot = { active: 0, created: 0, destroyed: 0, revoked: 0 };

/**
 * The `sessions` section of `GET /stats`: sessions active now, and created, destroyed
 * (logout, expiry) and revoked (revoke, revoke-all, cap) since the last reset. Cluster-wide
 * with Redis, in one round trip. Counted by the kit's store (zeros with an app's own store).
 *
 * @example
 * const { active } = await moduleRef.get(SessionStats).snapshot();
 */
@StatsSource('sessions')
@Injectable()
export class SessionStats implements StatsSnapshotSource<SessionStatsSnapshot>, OnModuleDestroy {
  constructor(@Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime) {}

  async snapshot(): Promise<SessionStatsSnapshot> {
    const store = this.runtime.kitStore;
    if (!store) return { ...NONE };
    if (!(await store.counters.flush())) throw new Error('the session stats could not be written');
    return store.guarded(store.backend.counters(store.options.clock()));
  }

  /** Zeroes the counters; `active` is a gauge of live sessions and is kept. */
  async reset(): Promise<void> {
    const store = this.runtime.kitStore;
    if (!store) return;
    store.counters.clear('totals');
    await store.guarded(store.backend.resetCounters());
  }

  async onModuleDestroy(): Promise<void> {
    await this.runtime.close();
  }
}
