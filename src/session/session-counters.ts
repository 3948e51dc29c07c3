import { BatchedCounters } from '../common/batched-counters';
import type { LogThrottle } from '../common/log-throttle';
import type { SessionBackend, SessionCounterChange } from './session-backend.interface';

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
