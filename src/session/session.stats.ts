import { Inject, Injectable } from '@nestjs/common';
import type { SessionStatsSnapshot } from '../common/stats-shapes';
import { StatsSource, type StatsSnapshotSource } from '../common/stats-source';
import { SESSION_RUNTIME } from './session.constants';
import type { SessionRuntime } from './session-runtime';

/**
 * The `sessions` section of `GET /stats`: sessions active now, and created, destroyed
 * (logout, expiry) and revoked (revoke, revoke-all, cap) since the last reset. Cluster-wide
 * with Redis, in one round trip.
 *
 * @example
 * const { active } = await moduleRef.get(SessionStats).snapshot();
 */
@StatsSource('sessions')
@Injectable()
export class SessionStats implements StatsSnapshotSource<SessionStatsSnapshot> {
  constructor(@Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime) {}

  snapshot(): Promise<SessionStatsSnapshot> {
    return this.runtime.store.guarded(this.runtime.backend.counters(this.runtime.options.clock()));
  }

  /** Zeroes the counters; `active` is a gauge of live sessions and is kept. */
  reset(): Promise<void> {
    return this.runtime.store.guarded(this.runtime.backend.resetCounters());
  }
}
