import type { Request } from 'express';
import { isObject } from '../common/is-object';
import type { SessionFields, SessionRef } from './session-backend.interface';

/** What the kit's store knows about a session beyond its data (kept off the JSON). */
export interface SessionState {
  ref: SessionRef;
  /** True once the session is in the store (loaded from it or saved to it). */
  persisted: boolean;
  /** The stored fields as last read or written (`d:<key>` and `k`): `set` writes what differs. */
  loaded: SessionFields;
  createdAtMs: number;
  lastSeenAtMs: number;
}

/** Symbol keys are invisible to express-session's change detection and to JSON. */
export const SESSION_STATE = Symbol('nestjs-llm-kit:session-state');
/** Set on a request whose session could not be loaded because the store is down. */
export const SESSION_UNAVAILABLE = Symbol('nestjs-llm-kit:session-unavailable');
/** The user slot `genid` puts the next session id in (set by `SessionService.create`). */
export const PENDING_TAG = Symbol('nestjs-llm-kit:pending-tag');
/** The runtime that served the request (the thin helpers find the service through it). */
export const SESSION_RUNTIME_KEY = Symbol('nestjs-llm-kit:session-runtime');

/** A request as the session module sees it. */
export type SessionRequest = Request & {
  [SESSION_UNAVAILABLE]?: Error;
  [PENDING_TAG]?: string;
  [SESSION_RUNTIME_KEY]?: unknown;
};

/** The state of an object that carries one (a session or what the store loaded). */
export function stateOf(session: unknown): SessionState | undefined {
  return isObject(session)
    ? (session as { [SESSION_STATE]?: SessionState })[SESSION_STATE]
    : undefined;
}

export function setState(session: object, state: SessionState): void {
  (session as { [SESSION_STATE]?: SessionState })[SESSION_STATE] = state;
}

/**
 * The id of the session the request's cookie carried, when `express-session` found it in
 * the store; undefined for an anonymous request (whose `req.sessionID` is a fresh id that
 * `express-session` generates on every request and nobody stored). Works with any store:
 * `express-session` keeps the cookie's id only when the signature holds and the store has
 * the session, and a generated id cannot be in the request's own cookie header.
 *
 * @example
 * const id = carriedSessionId(req); // undefined for a new visitor
 */
export function carriedSessionId(req: Request): string | undefined {
  const id: unknown = (req as Partial<Request>).sessionID;
  if (!(req as Partial<Request>).session || typeof id !== 'string' || !id) return undefined;
  const header = req.headers.cookie;
  if (!header) return undefined;
  // express-session's cookie value: `s:<id>.<signature>`, URL-encoded.
  const encoded = `s%3A${encodeURIComponent(id)}.`;
  return header.includes(encoded) || header.includes(`s:${id}.`) ? id : undefined;
}

/** True when the request carries a session that is in the store. */
export function hasStoredSession(req: Request): boolean {
  const state = stateOf((req as Partial<Request>).session);
  return state ? state.persisted : carriedSessionId(req) !== undefined;
}
