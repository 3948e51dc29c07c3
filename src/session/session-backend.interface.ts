import type { SessionStatsSnapshot } from '../common/stats-shapes';

/** Where a session lives: its user slot (hash tag) and the hash of its id. */
export interface SessionRef {
  tag: string;
  idHash: string;
}

/** A stored session as flat string fields (metadata plus one `d:<name>` field per data key). */
export type SessionFields = Record<string, string>;

/** One change of the session counters; `active` is keyed by session handle. */
export interface SessionCounterChange {
  created?: number;
  destroyed?: number;
  revoked?: number;
  /** Sessions now active, with the time (ms) they expire unless used. */
  activeUntil?: [handle: string, expireAtMs: number][];
  /** Sessions no longer active. */
  inactive?: string[];
}

/**
 * The storage behind the session store: Redis (Lua, one slot per user) or the embedded
 * bounded memory store. Both keep the same rules: `patch` never recreates a deleted
 * session, the per-user index is updated in the same atomic step as the session.
 */
export interface SessionBackend {
  /**
   * The session's fields, as flat name, value pairs (what HGETALL answers) or as an object;
   * empty when there is no such session.
   */
  read(ref: SessionRef): Promise<string[] | SessionFields>;
  /**
   * Writes a new session, indexes it and evicts the user's oldest past `cap` (0: no cap;
   * negative: the session is not indexed); returns the evicted id hashes.
   */
  create(
    ref: SessionRef,
    fields: SessionFields,
    expireAtMs: number,
    cap: number,
    indexExpireAtMs: number,
  ): Promise<string[]>;
  /** Sets and deletes fields of an existing session; false (and nothing written) when it is gone. */
  patch(ref: SessionRef, set: SessionFields, del: string[], expireAtMs: number): Promise<boolean>;
  /** Deletes a session and its index entry; false when it did not exist. */
  remove(ref: SessionRef): Promise<boolean>;
  /** The live sessions of a user slot (stale index entries are dropped). */
  list(tag: string): Promise<{ idHash: string; fields: SessionFields }[]>;
  /** Deletes every session of a user slot but `exceptIdHash`; returns the deleted id hashes. */
  removeAll(tag: string, exceptIdHash?: string): Promise<string[]>;
  /** Every stored session (a SCAN of the prefix on Redis: for admin tasks, not requests). */
  scan(): Promise<SessionRef[]>;
  /** A session another store wrote at `key` (adoption from connect-redis); Redis only. */
  readLegacy?(key: string): Promise<string | null>;
  /** Deletes it once adopted. */
  removeLegacy?(key: string): Promise<void>;
  /**
   * Whether a counters write can run now (false while Redis is down or once its connection is
   * closed): the batched counters are then kept without trying. Absent: always.
   */
  ready?(): boolean;
  count(change: SessionCounterChange): Promise<void>;
  counters(nowMs: number): Promise<SessionStatsSnapshot>;
  resetCounters(): Promise<void>;
}
