import type { Request } from 'express';
import { carriedSessionId } from './request-identity';

const ID = 'abcdef0123456789.Zm9vYmFy';
const req = (cookie: string | undefined, sessionID = ID, session: object | null = {}) =>
  ({ headers: cookie === undefined ? {} : { cookie }, sessionID, session }) as unknown as Request;

describe('carriedSessionId', () => {
  it("is the session id when the request's express-session cookie carried it", () => {
    expect(carriedSessionId(req(`sid=s%3A${encodeURIComponent(ID)}.sig`))).toBe(ID);
    expect(carriedSessionId(req(`a=1; __Host-sid=s:${ID}.sig`))).toBe(ID);
  });

  it('is undefined for a fresh id express-session generated (anonymous request)', () => {
    expect(carriedSessionId(req(undefined))).toBeUndefined();
    expect(carriedSessionId(req('sid=s%3Aanother-id.sig'))).toBeUndefined();
    // The id elsewhere in the header is not the session cookie.
    expect(carriedSessionId(req(`other=${ID}`))).toBeUndefined();
  });

  it('is undefined without a session (destroyed, store down, middleware not run)', () => {
    expect(carriedSessionId(req(`sid=s:${ID}.sig`, ID, null))).toBeUndefined();
    expect(carriedSessionId(req(`sid=s:.sig`, ''))).toBeUndefined();
  });

  it("is @fastify/session's id (request.session.sessionId) when its cookie carried it", () => {
    const fastify = (cookie: string, session: object | null) =>
      ({ headers: { cookie }, session }) as unknown as Request;
    expect(carriedSessionId(fastify(`sid=s%3A${ID}.sig`, { sessionId: ID }))).toBe(ID);
    expect(carriedSessionId(fastify('sid=s%3Aother.sig', { sessionId: ID }))).toBeUndefined();
    expect(carriedSessionId(fastify(`sid=s%3A${ID}.sig`, null))).toBeUndefined();
  });
});
