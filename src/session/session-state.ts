import type { Request } from 'express';
import { isObject } from '../common/is-object';
import { carriedSessionId } from '../common/request-identity';
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

/**
 * The request a session belongs to, for the store (metadata, the Secure-cookie check):
 * express-session gives its sessions `session.req`; on Fastify the module sets this one.
 */
export const SESSION_REQUEST = Symbol('nestjs-llm-kit:session-request');

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

/** True when the request carries a session that is in the store. */
export function hasStoredSession(req: Request): boolean {
  const state = stateOf((req as Partial<Request>).session);
  return state ? state.persisted : carriedSessionId(req) !== undefined;
}

/** The request a session belongs to (`session.req` of express-session, else the kit's link). */
export function requestOf(session: object): Request | undefined {
  const linked = session as { req?: Request; [SESSION_REQUEST]?: Request };
  return linked.req ?? linked[SESSION_REQUEST];
}

/** Links the request's session to the request (a session a plugin just created has no link). */
export function linkRequest(req: Request): void {
  const session = (req as { session?: unknown }).session;
  if (isObject(session)) linkSession(session, req);
}

/** Links `session` to the request it belongs to (before the plugin made it `req.session`). */
export function linkSession(session: object, req: Request): void {
  (session as { [SESSION_REQUEST]?: Request })[SESSION_REQUEST] = req;
}
