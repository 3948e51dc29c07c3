/**
 * One session of a user, as `SessionService.listForUser` reports it. `id` is the session's
 * public handle (its slot and a hash of its id): pass it to `revoke`; it cannot be turned
 * back into a session id.
 *
 * @example
 * const [oldest] = await sessions.listForUser('42');
 * await sessions.revoke(oldest.id);
 */
export interface SessionInfo {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  ip?: string;
  userAgent?: string;
  /** True for the session of the request passed to `listForUser`. */
  current: boolean;
}
