import type { Request } from 'express';
import { Store, type SessionData } from 'express-session';
import type { LogThrottle } from '../common/log-throttle';
import { withDeadline } from '../redis/deadline';
import type {
  SessionBackend,
  SessionCounterChange,
  SessionFields,
} from './session-backend.interface';
import { handleOf, refOf } from './session-id';
import type { ResolvedSessionOptions } from './session-options.resolver';
import { setState, stateOf, type SessionState } from './session-state';
import { SessionNotFoundError, SessionUnavailableError } from './session.errors';

type Callback = (error?: unknown, session?: SessionData | null) => void;

const DATA = 'd:';

/** The session's data (everything but the cookie) as one JSON field per key. */
function encodeData(session: object): SessionFields {
  const fields: SessionFields = {};
  for (const [key, value] of Object.entries(session)) {
    if (key === 'cookie' || value === undefined || typeof value === 'function') continue;
    fields[DATA + key] = JSON.stringify(value);
  }
  return fields;
}

/** The data of stored fields, and the `d:` fields themselves (what `set` diffs against). */
function decodeData(fields: SessionFields): {
  data: Record<string, unknown>;
  loaded: SessionFields;
} {
  const data: Record<string, unknown> = {};
  const loaded: SessionFields = {};
  for (const name in fields) {
    if (!name.startsWith(DATA)) continue;
    const value = fields[name]!;
    loaded[name] = value;
    data[name.slice(DATA.length)] = JSON.parse(value);
  }
  return { data, loaded };
}

/**
 * The `express-session` store of the module. It keeps the rules the plain Redis stores lack:
 * keys hold a hash of the id, never the id; idle and absolute expiry are checked on every
 * read; a request that changes nothing writes at most once per `touchIntervalMs`; a save
 * writes only the fields that changed (field-level merge) and never recreates a session that
 * was deleted meanwhile (logout, revoke, expiry).
 */
export class LlmSessionStore extends Store {
  constructor(
    private readonly backend: SessionBackend,
    private readonly options: ResolvedSessionOptions,
    private readonly warn: LogThrottle,
  ) {
    super();
  }

  /** Runs a backend call within `storeTimeoutMs`; any failure becomes SessionUnavailableError. */
  guarded<T>(work: Promise<T>): Promise<T> {
    return withDeadline(work, this.options.storeTimeoutMs, 'a session store call', (error) =>
      error instanceof SessionNotFoundError ? error : new SessionUnavailableError(error),
    );
  }

  /** Updates the counters without holding up the request; a failure is logged, once in a while. */
  count(change: SessionCounterChange): void {
    this.backend.count(change).catch((error: unknown) => {
      this.warn.warn('session-stats', `session counters not updated: ${String(error)}`);
    });
  }

  private expireAt(state: Pick<SessionState, 'createdAtMs'>, nowMs: number): number {
    return Math.min(nowMs + this.options.ttlMs, state.createdAtMs + this.options.absoluteTtlMs);
  }

  override get(sid: string, callback: Callback): void {
    this.loadSession(sid).then(
      (session) => callback(null, session),
      (error: unknown) => callback(error),
    );
  }

  private async loadSession(sid: string): Promise<SessionData | null> {
    const ref = refOf(sid);
    if (!ref) return null; // not one of our ids: never adopted
    const fields = await this.guarded(this.backend.read(ref));
    if (!fields) return null;
    const createdAtMs = Number(fields.c);
    const lastSeenAtMs = Number(fields.s);
    const now = this.options.clock();
    const idle = !(now - lastSeenAtMs < this.options.ttlMs);
    const tooOld = !(now - createdAtMs < this.options.absoluteTtlMs);
    let decoded: ReturnType<typeof decodeData>;
    try {
      if (idle || tooOld) throw new Error('expired');
      decoded = decodeData(fields);
    } catch {
      // Expired (the clock is ahead of Redis's expiry) or unreadable: the session is over.
      if (await this.guarded(this.backend.remove(ref)))
        this.count({ destroyed: 1, inactive: [handleOf(ref)] });
      return null;
    }
    const expires = new Date(createdAtMs + this.options.absoluteTtlMs);
    const cookie = { ...this.options.cookie, originalMaxAge: this.options.absoluteTtlMs, expires };
    const session = { ...decoded.data, cookie } as unknown as SessionData;
    setState(session, { ref, persisted: true, loaded: decoded.loaded, createdAtMs, lastSeenAtMs });
    return session;
  }

  override createSession(req: Request, data: SessionData): ReturnType<Store['createSession']> {
    const state = stateOf(data);
    const session = super.createSession(req, data);
    // 'auto' follows the request's protocol, as express-session does for new sessions.
    if (this.options.cookie.secure === 'auto') session.cookie.secure = req.secure;
    if (state) setState(session, state);
    return session;
  }

  override set(sid: string, session: SessionData, callback?: (error?: unknown) => void): void {
    this.save(sid, session).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  private async save(sid: string, session: SessionData): Promise<void> {
    const ref = refOf(sid);
    if (!ref) throw new SessionNotFoundError();
    const now = this.options.clock();
    const state = stateOf(session);
    const current = encodeData(session);
    if (!state?.persisted) {
      const createdAtMs = now;
      const meta: SessionFields = { c: String(createdAtMs), s: String(now) };
      if (state?.ip) meta.ip = state.ip;
      if (state?.userAgent) meta.ua = state.userAgent.slice(0, 256);
      const expireAtMs = this.expireAt({ createdAtMs }, now);
      const evicted = await this.guarded(
        this.backend.create(
          ref,
          { ...meta, ...current },
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
      return;
    }
    const changed: SessionFields = {};
    for (const [name, value] of Object.entries(current))
      if (state.loaded[name] !== value) changed[name] = value;
    const removed = Object.keys(state.loaded).filter((name) => !(name in current));
    if (Object.keys(changed).length === 0 && removed.length === 0) return this.refresh(state, now);
    const expireAtMs = this.expireAt(state, now);
    const ok = await this.guarded(
      this.backend.patch(ref, { ...changed, s: String(now) }, removed, expireAtMs),
    );
    if (!ok) throw new SessionNotFoundError();
    state.loaded = current;
    state.lastSeenAtMs = now;
    this.count({ activeUntil: [[handleOf(ref), expireAtMs]] });
  }

  override touch(_sid: string, session: SessionData, callback?: (error?: unknown) => void): void {
    const state = stateOf(session);
    if (!state?.persisted) return callback?.();
    this.refresh(state, this.options.clock()).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
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

  override destroy(sid: string, callback?: (error?: unknown) => void): void {
    const ref = refOf(sid);
    if (!ref) return callback?.();
    this.guarded(this.backend.remove(ref)).then(
      (removed) => {
        if (removed) this.count({ destroyed: 1, inactive: [handleOf(ref)] });
        callback?.();
      },
      (error: unknown) => callback?.(error),
    );
  }
}
