import type { LogThrottle } from '../common/log-throttle';
import { DeadlineQueue, RedisTimeoutError } from '../redis/deadline';
import { countSession, sessionCounters, type SessionCounters } from './session.stats';
import type {
  SessionBackend,
  SessionCounterChange,
  SessionFields,
  SessionRef,
} from './session-backend.interface';
import { handleOf } from './session-id';
import type { ResolvedSessionOptions } from './session-options.resolver';
import { setState, stateOf, type SessionState } from './session-state';
import { SessionNotFoundError, SessionUnavailableError } from './session.errors';

/** A stored session as `load` returns it: its data and what the store knows about it. */
export interface LoadedSession {
  data: Record<string, unknown>;
  state: SessionState;
}

/** How `read` answers: an error (SessionUnavailableError), or the session (null: none). */
export type LoadCallback = (error: unknown, session?: LoadedSession | null) => void;

// Data fields are stored as `d:<name>` = JSON; `c`, `s`, `ip`, `ua` are metadata.
const DATA = 'd:';

/** The session's data (everything but the cookie) as one JSON string per key. */
function encodeData(session: object): SessionFields {
  const fields: SessionFields = {};
  for (const [key, value] of Object.entries(session)) {
    if (key === 'cookie' || value === undefined || typeof value === 'function') continue;
    fields[key] = JSON.stringify(value);
  }
  return fields;
}

/** True when the session's data still encodes to what was loaded or last written. */
function unchanged(session: object, { loaded, values }: SessionState): boolean {
  let seen = 0;
  for (const key in session) {
    const value = (session as Record<string, unknown>)[key];
    if (key === 'cookie' || value === undefined || typeof value === 'function') continue;
    const same = values !== undefined && value === values[key] && typeof value !== 'object';
    if (!same && loaded[key] !== JSON.stringify(value)) return false;
    seen++;
  }
  for (const _ in loaded) seen--;
  return seen === 0;
}

function stored(fields: SessionFields): SessionFields {
  const out: SessionFields = {};
  for (const key in fields) out[DATA + key] = fields[key]!;
  return out;
}

/**
 * The module's session store over a backend (Redis or memory). It keeps the rules the
 * plain Redis stores lack: keys hold a hash of the id, never the id; idle and absolute
 * expiry are checked on every read; a request that changes nothing writes at most once per
 * `touchIntervalMs`; a save writes only the fields that changed (field-level merge) and
 * never recreates a session that was deleted meanwhile (logout, revoke, expiry).
 */
export class LlmSessionStore {
  /** Bounds every store call by `storeTimeoutMs`, with one timer for all of them. */
  private readonly deadlines: DeadlineQueue;
  /** The session counters, batched (SessionStats flushes them before a snapshot). */
  readonly counters: SessionCounters;

  constructor(
    private readonly backend: SessionBackend,
    private readonly options: ResolvedSessionOptions,
    private readonly warn: LogThrottle,
  ) {
    this.deadlines = new DeadlineQueue(options.storeTimeoutMs);
    this.counters = sessionCounters(backend, options.storeTimeoutMs, warn);
  }

  private unavailable(error: unknown): Error {
    return error instanceof SessionNotFoundError ? error : new SessionUnavailableError(error);
  }

  private timeout(): Error {
    return this.unavailable(
      new RedisTimeoutError('a session store call', this.options.storeTimeoutMs),
    );
  }

  /** Runs a backend call within `storeTimeoutMs`; any failure becomes SessionUnavailableError. */
  guarded<T>(work: Promise<T>): Promise<T> {
    return this.deadlines.run(work, 'a session store call', (error) => this.unavailable(error));
  }

  /** Updates the counters without holding up the request (batched; see `sessionCounters`). */
  count(change: SessionCounterChange): void {
    countSession(this.counters, change);
  }

  private expireAt(state: Pick<SessionState, 'createdAtMs'>, nowMs: number): number {
    return Math.min(nowMs + this.options.ttlMs, state.createdAtMs + this.options.absoluteTtlMs);
  }

  /** The live session at `ref`, or null (none, expired or unreadable: then it is deleted). */
  load(ref: SessionRef): Promise<LoadedSession | null> {
    return new Promise((resolve, reject) =>
      this.read(ref, (error, session) => (error ? reject(error) : resolve(session ?? null))),
    );
  }

  /**
   * `load` for the middleware, which runs it on every request: a callback and the shared
   * deadline instead of promises of its own (fewer allocations per request).
   */
  read(ref: SessionRef, done: LoadCallback): void {
    const ticket = this.deadlines.add(() => done(this.timeout()));
    this.backend.read(ref).then(
      (fields) => {
        if (!this.deadlines.settle(ticket)) return;
        const session = this.decode(ref, fields);
        if (session !== undefined) return done(null, session);
        this.expire(ref).then(
          () => done(null, null),
          (error: unknown) => done(error),
        );
      },
      (error: unknown) => this.deadlines.settle(ticket) && done(this.unavailable(error)),
    );
  }

  /** The session in the reply; null when there is none, undefined when it is over. */
  private decode(
    ref: SessionRef,
    reply: string[] | SessionFields,
  ): LoadedSession | null | undefined {
    const pairs = Array.isArray(reply) ? reply : Object.entries(reply).flat();
    if (pairs.length === 0) return null;
    let created: string | undefined;
    let lastSeen: string | undefined;
    const data: Record<string, unknown> = {};
    const loaded: SessionFields = {};
    try {
      for (let i = 0; i + 1 < pairs.length; i += 2) {
        const name = pairs[i]!;
        const value = pairs[i + 1]!;
        if (name === 'c') created = value;
        else if (name === 's') lastSeen = value;
        else if (name.startsWith(DATA)) {
          const key = name.slice(DATA.length);
          data[key] = JSON.parse(value);
          loaded[key] = value;
        }
      }
    } catch {
      return undefined; // unreadable
    }
    const createdAtMs = Number(created);
    const lastSeenAtMs = Number(lastSeen);
    const now = this.options.clock();
    if (!(now - lastSeenAtMs < this.options.ttlMs)) return undefined;
    if (!(now - createdAtMs < this.options.absoluteTtlMs)) return undefined;
    const state = { ref, persisted: true, loaded, values: data, createdAtMs, lastSeenAtMs };
    return { data, state };
  }

  /** Deletes a session that is over (the clock is ahead of Redis's expiry, or unreadable). */
  private async expire(ref: SessionRef): Promise<null> {
    if (await this.guarded(this.backend.remove(ref)))
      this.count({ destroyed: 1, inactive: [handleOf(ref)] });
    return null;
  }

  /**
   * Writes `session`: creates it when it is not in the store yet, else writes the data
   * fields that changed (or the idle refresh when none did). Throws SessionNotFoundError
   * when the session was deleted meanwhile: it is not recreated.
   */
  async save(ref: SessionRef, session: object): Promise<void> {
    const state = stateOf(session);
    if (state?.persisted) return this.update(state, encodeData(session));
    const now = this.options.clock();
    const current = encodeData(session);
    const createdAtMs = now;
    const meta: SessionFields = { c: String(createdAtMs), s: String(now) };
    if (state?.ip) meta.ip = state.ip;
    if (state?.userAgent) meta.ua = state.userAgent.slice(0, 256);
    const expireAtMs = this.expireAt({ createdAtMs }, now);
    const evicted = await this.guarded(
      this.backend.create(
        ref,
        { ...meta, ...stored(current) },
        expireAtMs,
        this.options.maxSessionsPerUser,
        createdAtMs + this.options.absoluteTtlMs,
      ),
    );
    setState(session, { ref, persisted: true, loaded: current, createdAtMs, lastSeenAtMs: now });
    this.count({
      created: 1,
      revoked: evicted.length,
      activeUntil: [[handleOf(ref), expireAtMs]],
      inactive: evicted.map((idHash) => handleOf({ tag: ref.tag, idHash })),
    });
  }

  /**
   * The end-of-request write of a stored session: its changed fields, or the idle refresh
   * once `touchIntervalMs` has passed; undefined (no promise at all) when there is nothing
   * to write, which is what a read-only request gets.
   */
  commit(state: SessionState, session: object): Promise<void> | undefined {
    if (!unchanged(session, state)) return this.update(state, encodeData(session));
    const now = this.options.clock();
    return now - state.lastSeenAtMs < this.options.touchIntervalMs
      ? undefined
      : this.refresh(state, now);
  }

  private async update(state: SessionState, current: SessionFields): Promise<void> {
    const now = this.options.clock();
    const changed: SessionFields = {};
    let writes = 0;
    for (const key in current)
      if (state.loaded[key] !== current[key]) {
        changed[DATA + key] = current[key]!;
        writes++;
      }
    const removed: string[] = [];
    for (const key in state.loaded) if (!(key in current)) removed.push(DATA + key);
    if (writes === 0 && removed.length === 0) return this.refresh(state, now);
    const expireAtMs = this.expireAt(state, now);
    const ok = await this.guarded(
      this.backend.patch(state.ref, { ...changed, s: String(now) }, removed, expireAtMs),
    );
    if (!ok) throw new SessionNotFoundError();
    state.loaded = current;
    state.values = undefined;
    state.lastSeenAtMs = now;
    this.count({ activeUntil: [[handleOf(state.ref), expireAtMs]] });
  }

  /** Moves the idle deadline, at most once per `touchIntervalMs`; a deleted session stays deleted. */
  private async refresh(state: SessionState, now: number): Promise<void> {
    if (now - state.lastSeenAtMs < this.options.touchIntervalMs) return;
    const expireAtMs = this.expireAt(state, now);
    const ok = await this.guarded(
      this.backend.patch(state.ref, { s: String(now) }, [], expireAtMs),
    );
    state.lastSeenAtMs = now;
    if (ok) this.count({ activeUntil: [[handleOf(state.ref), expireAtMs]] });
  }

  /** Deletes the session at `ref` (nothing happens when there is none). */
  async destroy(ref: SessionRef): Promise<void> {
    if (await this.guarded(this.backend.remove(ref)))
      this.count({ destroyed: 1, inactive: [handleOf(ref)] });
  }
}
