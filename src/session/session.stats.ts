import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { BatchedCounters } from '../common/batched-counters';
import type { LogThrottle } from '../common/log-throttle';
import type { SessionStatsSnapshot } from '../common/stats-shapes';
import { StatsSource, type StatsSnapshotSource } from '../common/stats-source';
import type { SessionBackend, SessionCounterChange } from './session-backend.interface';
import { SESSION_RUNTIME } from './session.constants';
import type { SessionRuntime } from './session-runtime';

const NONE: SessionStatsSnapshot = { active: 0, created: 0, destroyed: 0, revoked: 0 };

/** `totals`: created, destroyed, revoked; `active`: session handle -> expiry (0: inactive). */
export type SessionCounters = BatchedCounters<'totals' | 'active'>;

const FLUSH_INTERVAL_MS = 200;
const TOTALS = ['created', 'destroyed', 'revoked'] as const;

/**
 * The session store's counters, batched and flushed to the backend by `BatchedCounters`
 * (one backend write per interval, bounded by `timeoutMs`, never two at once).
 *
 * @example
 * const counters = sessionCounters(backend, options.storeTimeoutMs, warn);
 * countSession(counters, { created: 1, activeUntil: [[handle, expireAtMs]] });
 */
export function sessionCounters(
  backend: SessionBackend,
  timeoutMs: number,
  warn: LogThrottle,
): SessionCounters {
  return new BatchedCounters({
    groups: { totals: {}, active: { merge: 'replace' } },
    write: ({ totals, active }) => {
      const change: SessionCounterChange = { activeUntil: [], inactive: [] };
      for (const name of TOTALS) change[name] = totals.get(name) ?? 0;
      for (const [handle, at] of active)
        if (at > 0) change.activeUntil!.push([handle, at]);
        else change.inactive!.push(handle);
      return backend.count(change);
    },
    intervalMs: FLUSH_INTERVAL_MS,
    timeoutMs,
    what: 'session stats',
    warn,
    ready: backend.ready && (() => backend.ready!()),
  });
}

/** Adds one change of the session counters to the batch. */
export function countSession(counters: SessionCounters, change: SessionCounterChange): void {
  for (const name of TOTALS) counters.add('totals', name, change[name] ?? 0);
  for (const [handle, at] of change.activeUntil ?? []) counters.add('active', handle, at);
  for (const handle of change.inactive ?? []) counters.add('active', handle, 0);
}

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
    await this.runtime.kitStore?.counters.close();
  }
}
