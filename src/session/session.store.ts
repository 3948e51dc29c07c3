import type { Request } from 'express';
import { Store, type SessionData } from 'express-session';
import { isSecureRequest } from '../common/http-exchange';
import { isObject } from '../common/is-object';
import type { LogThrottle } from '../common/log-throttle';
import { resolveUserId } from '../common/request-identity';
import { safeJsonParse } from '../common/safe-json';
import { withDeadline } from '../redis/deadline';
import { countSession, sessionCounters, type SessionCounters } from './session-counters';
import type {
  SessionBackend,
  SessionCounterChange,
  SessionFields,
  SessionRef,
} from './session-backend.interface';
import { handleOf, refOf, refOfHandle, userTag } from './session-id';
import type { SessionInfo } from './session-info.interface';
import type { ResolvedStoreOptions } from './session-options.resolver';
import { requestOf, setState, stateOf, type SessionState } from './session-state';
import {
  INSECURE_SESSION_NOT_STORED,
  SessionNotFoundError,
  SessionUnavailableError,
} from './session.errors';

type Data = Record<string, unknown>;

// Stored fields: `c` created (ms), `s` last seen (ms), `ip`, `ua`, `k` the cookie (JSON), and
// one `d:<key>` per data key (JSON), so a save writes only the keys that changed.
const DATA = 'd:';
const COOKIE = 'k';

/** The session's data (everything but the cookie) as one JSON field per key, plus the cookie. */
function encode(session: object): SessionFields {
  const fields: SessionFields = Object.create(null) as SessionFields;
  for (const [key, value] of Object.entries(session)) {
    if (key === 'cookie' || value === undefined || typeof value === 'function') continue;
    fields[DATA + key] = JSON.stringify(value);
  }
  const cookie = cookieField(session);
  if (cookie !== undefined) fields[COOKIE] = cookie;
  return fields;
}

/** The session's cookie as stored (JSON), if it has one. */
function cookieField(session: object): string | undefined {
  const cookie = (session as { cookie?: unknown }).cookie;
  return cookie ? JSON.stringify(cookie) : undefined;
}

/**
 * The user a session belongs to: `userId`, else Passport's serialized user when it is an id
 * (`passport.user` as Passport keeps it; `passport` itself as `@fastify/passport` does).
 */
function userOf(session: object): string | undefined {
  const data = session as { userId?: unknown; passport?: unknown };
  const passport = isObject(data.passport) ? data.passport.user : data.passport;
  return (
    resolveUserId({ session: data } as never) ?? resolveUserId({ user: { id: passport } } as never)
  );
}

/**
 * The kit's `express-session` store over a backend (Redis or memory). It keeps what plain
 * Redis stores lack: keys hold a hash of the id, never the id; a per-user index (one Redis
 * Cluster slot per user) for `listForUser`, `revoke`, `revokeAllForUser` and the per-user cap;
 * idle and absolute expiry checked on every read; `touch` writes at most once per
 * `touchIntervalMs`; `set` writes only the fields that changed and never recreates a session
 * that was deleted meanwhile (logout, revoke, expiry); every call bounded by `storeTimeoutMs`.
 */
export class LlmSessionStore extends Store {
  /** The session counters, batched (SessionStats flushes them before a snapshot). @internal */
  readonly counters: SessionCounters;
  /** @internal */
  readonly backend: SessionBackend;
  /** @internal */
  readonly options: ResolvedStoreOptions;
  private readonly warn: LogThrottle;

  /** @internal */
  constructor(backend: SessionBackend, options: ResolvedStoreOptions, warn: LogThrottle) {
    super();
    this.backend = backend;
    this.options = options;
    this.warn = warn;
    this.counters = sessionCounters(backend, options.storeTimeoutMs, warn);
  }

  /** Runs a backend call within `storeTimeoutMs`; any failure becomes SessionUnavailableError. @internal */
  guarded<T>(work: Promise<T>): Promise<T> {
    return withDeadline(work, this.options.storeTimeoutMs, 'a session store call', (error) =>
      error instanceof SessionNotFoundError ? error : new SessionUnavailableError(error),
    );
  }

  /** Updates the counters without holding up the request (batched; see `sessionCounters`). @internal */
  count(change: SessionCounterChange): void {
    countSession(this.counters, change);
  }

  private expireAt(state: Pick<SessionState, 'createdAtMs'>, nowMs: number): number {
    return Math.min(nowMs + this.options.ttlMs, state.createdAtMs + this.options.absoluteTtlMs);
  }

  override get(
    sid: string,
    callback: (error: unknown, session?: SessionData | null) => void,
  ): void {
    this.fetch(sid).then(
      (session) => callback(null, session),
      (error: unknown) => callback(error),
    );
  }

  private async fetch(sid: string): Promise<SessionData | null> {
    const ref = refOf(sid);
    if (!ref) return null;
    const reply = await this.guarded(this.backend.read(ref));
    const session = this.decode(ref, reply);
    if (session) return session;
    if (session === undefined) {
      // Over (the clock is ahead of Redis's expiry) or unreadable: delete it.
      await this.destroyRef(ref);
      return null;
    }
    return this.options.legacyPrefix === undefined ? null : this.adopt(sid, ref);
  }

  /** The session in a reply; null when there is none, undefined when it is over or unreadable. */
  private decode(ref: SessionRef, reply: string[] | SessionFields): SessionData | null | undefined {
    const pairs = Array.isArray(reply) ? reply : Object.entries(reply).flat();
    if (pairs.length === 0) return null;
    let created: string | undefined;
    let lastSeen: string | undefined;
    let cookie: unknown;
    const data = Object.create(null) as Data;
    const loaded = Object.create(null) as SessionFields;
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const name = pairs[i]!;
      const value = pairs[i + 1]!;
      if (name === 'c') created = value;
      else if (name === 's') lastSeen = value;
      else if (name === COOKIE || name.startsWith(DATA)) {
        const parsed = safeJsonParse(value);
        if (parsed === undefined) return undefined;
        if (name === COOKIE) cookie = parsed;
        else data[name.slice(DATA.length)] = parsed;
        loaded[name] = value;
      }
    }
    const createdAtMs = Number(created);
    const lastSeenAtMs = Number(lastSeen);
    const now = this.options.clock();
    if (!(now - lastSeenAtMs < this.options.ttlMs)) return undefined;
    if (!(now - createdAtMs < this.options.absoluteTtlMs)) return undefined;
    data.cookie = isObject(cookie) ? cookie : { path: '/', httpOnly: true };
    setState(data, { ref, persisted: true, loaded, createdAtMs, lastSeenAtMs });
    return data as unknown as SessionData;
  }

  /** Moves a session `connect-redis` wrote (plain JSON at `<legacyPrefix><id>`) into this store. */
  private async adopt(sid: string, ref: SessionRef): Promise<SessionData | null> {
    const { backend } = this;
    const key = this.options.legacyPrefix + sid;
    const raw = backend.readLegacy ? await this.guarded(backend.readLegacy(key)) : null;
    if (!raw) return null;
    const parsed = safeJsonParse(raw);
    if (!isObject(parsed)) return null;
    const session = Object.assign(Object.create(null) as Data, parsed);
    session.cookie ??= { path: '/', httpOnly: true };
    await this.create(ref, session, undefined);
    await this.guarded(backend.removeLegacy!(key));
    return session as unknown as SessionData;
  }

  override createSession(req: Request, data: SessionData): ReturnType<Store['createSession']> {
    const state = stateOf(data);
    const session = super.createSession(req, data);
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
    const state = stateOf(session);
    if (state?.persisted) return this.update(state, encode(session));
    const req = requestOf(session);
    const cookie = session.cookie as { secure?: unknown } | undefined;
    if (req && cookie?.secure === true && !isSecureRequest(req, this.options.proxy)) {
      // express-session will not send this cookie: nobody can ever use the session, so it
      // is neither stored nor counted against the user's cap.
      this.warn.warn('session-insecure', INSECURE_SESSION_NOT_STORED);
      return;
    }
    await this.create(ref, session, req);
  }

  private async create(ref: SessionRef, session: object, req: Request | undefined): Promise<void> {
    const now = this.options.clock();
    const current = encode(session);
    const meta: SessionFields = { c: String(now), s: String(now) };
    if (req?.ip) meta.ip = req.ip;
    const agent = req?.headers['user-agent'];
    if (agent) meta.ua = agent.slice(0, 256);
    const userId = userOf(session);
    // Indexed under its user when the id lives in the user's slot (the kit's genid puts it
    // there at login); any other session is still stored, just not listed per user.
    const indexed = userId !== undefined && userTag(userId) === ref.tag;
    const expireAtMs = this.expireAt({ createdAtMs: now }, now);
    const evicted = await this.guarded(
      this.backend.create(
        ref,
        { ...meta, ...current },
        expireAtMs,
        indexed ? this.options.maxSessionsPerUser : -1,
        now + this.options.absoluteTtlMs,
      ),
    );
    setState(session, {
      ref,
      persisted: true,
      loaded: current,
      createdAtMs: now,
      lastSeenAtMs: now,
    });
    this.count({
      created: 1,
      revoked: evicted.length,
      activeUntil: [[handleOf(ref), expireAtMs]],
      inactive: evicted.map((idHash) => handleOf({ tag: ref.tag, idHash })),
    });
  }

  private async update(state: SessionState, current: SessionFields): Promise<void> {
    const now = this.options.clock();
    const changed: SessionFields = Object.create(null) as SessionFields;
    let writes = 0;
    for (const [name, value] of Object.entries(current))
      if (name !== COOKIE && state.loaded[name] !== value) {
        changed[name] = value;
        writes++;
      }
    const removed = Object.keys(state.loaded).filter((name) => !(name in current));
    // An explicit save (or `resave: true`) of an unchanged session still writes its idle
    // refresh; only `touch` is throttled.
    if (writes === 0 && removed.length === 0)
      return this.refresh(state, now, current[COOKIE], true);
    if (current[COOKIE] !== undefined) changed[COOKIE] = current[COOKIE];
    const expireAtMs = this.expireAt(state, now);
    const ok = await this.guarded(
      this.backend.patch(state.ref, { ...changed, s: String(now) }, removed, expireAtMs),
    );
    if (!ok) throw new SessionNotFoundError();
    state.loaded = current;
    state.lastSeenAtMs = now;
    this.count({ activeUntil: [[handleOf(state.ref), expireAtMs]] });
  }

  override touch(_sid: string, session: SessionData, callback?: (error?: unknown) => void): void {
    const state = stateOf(session);
    const now = this.options.clock();
    // The common case answers synchronously: express-session then ends the response at once.
    if (!state?.persisted || now - state.lastSeenAtMs < this.options.touchIntervalMs)
      return callback?.();
    this.refresh(state, now, cookieField(session)).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  /**
   * Moves the idle deadline, at most once per `touchIntervalMs`, and stores the cookie as
   * `express-session` last reset it (`req.session.touch()`); a deleted session stays deleted.
   */
  private async refresh(
    state: SessionState,
    now: number,
    cookie: string | undefined,
    force = false,
  ): Promise<void> {
    if (!force && now - state.lastSeenAtMs < this.options.touchIntervalMs) return;
    const expireAtMs = this.expireAt(state, now);
    const set: SessionFields = { s: String(now) };
    if (cookie !== undefined && cookie !== state.loaded[COOKIE]) set[COOKIE] = cookie;
    const ok = await this.guarded(this.backend.patch(state.ref, set, [], expireAtMs));
    state.lastSeenAtMs = now;
    if (set[COOKIE] !== undefined) state.loaded[COOKIE] = set[COOKIE];
    if (ok) this.count({ activeUntil: [[handleOf(state.ref), expireAtMs]] });
  }

  override destroy(sid: string, callback?: (error?: unknown) => void): void {
    const ref = refOf(sid);
    if (!ref) return callback?.();
    this.destroyRef(ref).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  private async destroyRef(ref: SessionRef): Promise<void> {
    if (await this.guarded(this.backend.remove(ref)))
      this.count({ destroyed: 1, inactive: [handleOf(ref)] });
  }

  /**
   * Every live session, each with `id` set to its public handle (the store keeps no raw id).
   * A SCAN of the prefix on Redis: for admin tasks, not for requests.
   */
  override all(callback: (error: unknown, sessions?: SessionData[] | null) => void): void {
    this.scanSessions().then(
      (sessions) => callback(null, sessions),
      (error: unknown) => callback(error),
    );
  }

  private async scanSessions(): Promise<SessionData[]> {
    const refs = await this.backend.scan();
    const sessions: SessionData[] = [];
    for (const ref of refs) {
      const session = this.decode(ref, await this.guarded(this.backend.read(ref)));
      if (session) sessions.push(Object.assign(session, { id: handleOf(ref) }));
    }
    return sessions;
  }

  override length(callback: (error: unknown, length?: number) => void): void {
    this.scanSessions().then(
      (sessions) => callback(null, sessions.length),
      (error: unknown) => callback(error),
    );
  }

  override clear(callback?: (error?: unknown) => void): void {
    this.backend
      .scan()
      .then((refs) => Promise.all(refs.map((ref) => this.destroyRef(ref))))
      .then(
        () => callback?.(),
        (error: unknown) => callback?.(error),
      );
  }

  /** The user's live sessions, oldest first; `currentId` (a handle) marks the current one. */
  async listForUser(userId: string, currentId?: string): Promise<SessionInfo[]> {
    const now = this.options.clock();
    const tag = userTag(userId);
    const rows = await this.guarded(this.backend.list(tag));
    return rows
      .map(({ idHash, fields }) => ({
        id: handleOf({ tag, idHash }),
        createdAt: new Date(Number(fields.c)),
        lastSeenAt: new Date(Number(fields.s)),
        ip: fields.ip || undefined,
        userAgent: fields.ua || undefined,
        current: handleOf({ tag, idHash }) === currentId,
      }))
      .filter(
        (info) =>
          now - info.lastSeenAt.getTime() < this.options.ttlMs &&
          now - info.createdAt.getTime() < this.options.absoluteTtlMs,
      );
  }

  /** Ends the session with this handle (from `listForUser`); false when there was none. */
  async revoke(handle: string): Promise<boolean> {
    const ref = refOfHandle(handle);
    if (!ref) return false;
    const removed = await this.guarded(this.backend.remove(ref));
    if (removed) this.count({ revoked: 1, inactive: [handle] });
    return removed;
  }

  /** Ends every session of the user but `except` (a handle); returns how many. */
  async revokeAllForUser(userId: string, except?: string): Promise<number> {
    const tag = userTag(userId);
    const keep = except ? refOfHandle(except) : undefined;
    const removed = await this.guarded(
      this.backend.removeAll(tag, keep?.tag === tag ? keep.idHash : undefined),
    );
    if (removed.length > 0)
      this.count({
        revoked: removed.length,
        inactive: removed.map((idHash) => handleOf({ tag, idHash })),
      });
    return removed.length;
  }
}
