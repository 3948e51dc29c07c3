import { RedisStore } from 'connect-redis';
import express, { type NextFunction, type Request, type Response } from 'express';
import { MemoryStore, type SessionData, type Store } from 'express-session';
import { createHmac, randomBytes } from 'node:crypto';
import request from 'supertest';
import { sessionMiddleware, type SessionModuleOptions } from '../src';
import { uniquePrefix } from './support/test-redis';
import { specRedis, TEST_SECRET } from './session-support/session-test-app';

// express-session's contract as its README states it, kept by `sessionMiddleware()` whatever
// the store: the app's own (express-session's MemoryStore; connect-redis on Redis) or the
// kit's (in memory; on Redis). Errors reach `next(err)`; the cookie carries the id the store
// knows; `req.session.touch()` resets the expiry; a secret may be a Buffer.

type Kind = 'app MemoryStore' | 'app connect-redis' | 'kit memory' | 'kit Redis';
const APP_STORES: Kind[] = ['app MemoryStore', 'app connect-redis'];
const ALL_STORES: Kind[] = [...APP_STORES, 'kit memory', 'kit Redis'];

/** Bound on the wait for an error express-session passes on after the answer went out. */
const ERROR_DEADLINE_MS = 2000;

type Callback = (error?: unknown) => void;

function failing(what: string): (...args: unknown[]) => void {
  return (...args: unknown[]) => (args[args.length - 1] as Callback)(new Error(`${what} failed`));
}

/** The id in a signed session cookie `sid=s%3A<id>.<signature>`: up to the signature. */
function idOfCookie(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  return value.slice(2, value.lastIndexOf('.'));
}

const pause = (ms: number) => {
  // The wall clock (express-session's cookie expiry) must move between two requests.
  const until = Date.now() + ms;
  while (Date.now() < until);
};

describe("sessionMiddleware keeps express-session's contract with any store", () => {
  const spec = specRedis();
  const opened: { close(): Promise<void> }[] = [];
  afterEach(() => Promise.all(opened.splice(0).map((h) => h.close())));

  /** A plain Express app on the session middleware, its store and the errors next(err) got. */
  function harness(kind: Kind, options: Partial<SessionModuleOptions> = {}) {
    const now = { ms: Date.now() };
    const own =
      kind === 'app MemoryStore'
        ? new MemoryStore()
        : kind === 'app connect-redis'
          ? new RedisStore({ client: spec.redis as never, prefix: uniquePrefix('sess-ct-cr') })
          : undefined;
    const prefix = uniquePrefix('sess-ct');
    const middleware = sessionMiddleware(
      {
        secret: TEST_SECRET,
        name: 'sid',
        prefix,
        clock: () => now.ms,
        ...(own && { store: own }),
        ...options,
        cookie: { secure: false, ...(options.cookie as object) },
      },
      kind === 'kit Redis' ? spec.redis : undefined,
    );
    const seen: { store?: Store } = {};
    const errors: Error[] = [];
    const waiting: ((error: Error) => void)[] = [];
    const app = express();
    app.set('env', 'test');
    app.use(middleware);
    app.use((req, _res, next) => {
      seen.store = req.sessionStore;
      next();
    });
    app.post('/set/:key/:value', (req, res) => {
      (req.session as unknown as Record<string, unknown>)[req.params.key] = req.params.value;
      res.json({ id: req.sessionID });
    });
    app.get('/me', (req, res) => {
      const { cookie: _cookie, ...data } = (req.session ?? {}) as unknown as Record<
        string,
        unknown
      >;
      res.json(data);
    });
    app.get('/touch', (req, res) => {
      req.session.touch();
      res.json({ id: req.sessionID });
    });
    app.post('/unset', (req, res) => {
      (req as { session: unknown }).session = null;
      res.json({ ok: true });
    });
    // express-session passes every error to next(err): the app's error handler sees it.
    app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
      errors.push(error);
      waiting.splice(0).forEach((wake) => wake(error));
      if (!res.headersSent) res.status(500).send(error.message);
    });
    const h = {
      app,
      own: options.store ?? own,
      prefix: options.prefix ?? prefix,
      clock: now,
      close: () => middleware.close(),
      store: () => seen.store!,
      errors,
      /** The next error the app's error handler gets, or a rejection after the deadline. */
      nextError(): Promise<Error> {
        if (errors.length > 0) return Promise.resolve(errors[0]!);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`no error reached next(err) within ${ERROR_DEADLINE_MS} ms`)),
            ERROR_DEADLINE_MS,
          );
          waiting.push((error) => {
            clearTimeout(timer);
            resolve(error);
          });
        });
      },
    };
    opened.push(h);
    return h;
  }

  async function storedSession(store: Store, id: string): Promise<SessionData | null> {
    return new Promise((resolve, reject) =>
      store.get(id, (error, session) => (error ? reject(error) : resolve(session ?? null))),
    );
  }

  async function start(h: ReturnType<typeof harness>) {
    const res = await request(h.app).post('/set/theme/dark').expect(200);
    const cookie = (res.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    return { cookie, id: res.body.id as string };
  }

  describe.each(APP_STORES)("with the app's own store (%s)", (kind) => {
    it('a session saved through the store is found by the id in the cookie (express-session ids)', async () => {
      const h = harness(kind);
      const { cookie, id } = await start(h);
      // express-session's own ids (uid-safe, 24 bytes): no dot, so however a tool reads the
      // id out of `s:<id>.<signature>`, it is the id the store holds.
      expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(idOfCookie(cookie)).toBe(id);
      expect(decodeURIComponent(cookie).split('=')[1]!.slice(2).split('.')[0]).toBe(id);
      expect(await storedSession(h.store(), id)).toMatchObject({ theme: 'dark' });
      const me = await request(h.app).get('/me').set('Cookie', cookie).expect(200);
      expect(me.body).toEqual({ theme: 'dark' });
    });

    it('a touch error reaches next(err) (resave: false, nothing changed)', async () => {
      const h = harness(kind, { resave: false });
      const { cookie } = await start(h);
      h.store().touch = failing('touch');
      await request(h.app).get('/me').set('Cookie', cookie).expect(200);
      expect((await h.nextError()).message).toBe('touch failed');
    });

    it('a save error reaches next(err) (saveUninitialized: true)', async () => {
      const h = harness(kind, { saveUninitialized: true });
      await request(h.app).get('/me').expect(200); // the store is known after one request
      h.store().set = failing('set');
      await request(h.app).get('/me').expect(200);
      expect((await h.nextError()).message).toBe('set failed');
    });

    it("a destroy error reaches next(err) (unset: 'destroy')", async () => {
      const h = harness(kind, { unset: 'destroy' });
      const { cookie } = await start(h);
      h.store().destroy = failing('destroy');
      await request(h.app).post('/unset').set('Cookie', cookie).expect(200);
      expect((await h.nextError()).message).toBe('destroy failed');
    });

    it('a load error reaches next(err) before the route: 500', async () => {
      const h = harness(kind);
      const { cookie } = await start(h);
      h.store().get = failing('get');
      await request(h.app).get('/me').set('Cookie', cookie).expect(500, 'get failed');
      expect(h.errors.map((error) => error.message)).toEqual(['get failed']);
    });

    it('a stored session without a cookie fails to inflate: 500 through next(err)', async () => {
      const h = harness(kind);
      const { cookie, id } = await start(h);
      await new Promise<void>((resolve, reject) =>
        h
          .store()
          .set(id, { theme: 'light' } as unknown as SessionData, (error) =>
            error ? reject(error as Error) : resolve(),
          ),
      );
      await request(h.app).get('/me').set('Cookie', cookie).expect(500);
      expect(h.errors).toHaveLength(1);
      expect(h.errors[0]).toBeInstanceOf(TypeError);
    });
  });

  describe.each(ALL_STORES)('with %s', (kind) => {
    it('an error setting the cookie reaches next(err)', async () => {
      const h = harness(kind, { cookie: { secure: false, expires: new Date(NaN) } });
      const res = await request(h.app).post('/set/theme/dark').expect(200);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect((await h.nextError()).message).toMatch(/option expires is invalid/);
    });

    it('a Buffer secret signs the cookie (express-session >= 1.18), and an array rotates them', async () => {
      const secret = randomBytes(32);
      const h = harness(kind, { secret });
      const { cookie, id } = await start(h);
      const signature = createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '');
      expect(decodeURIComponent(cookie)).toBe(`sid=s:${id}.${signature}`);
      expect((await request(h.app).get('/me').set('Cookie', cookie)).body).toEqual({
        theme: 'dark',
      });
      expect(h.errors).toEqual([]);
      if (kind === 'kit memory') return; // one process's store: no second app shares it
      // A new Buffer secret first, the old one still verifying, on the same store.
      const rotated = harness(kind, {
        secret: [randomBytes(32), secret],
        prefix: h.prefix,
        ...(h.own && { store: h.own }),
      });
      const me = await request(rotated.app).get('/me').set('Cookie', cookie).expect(200);
      expect(me.body).toEqual({ theme: 'dark' });
    });
  });

  describe.each(ALL_STORES.filter((kind) => kind !== 'app connect-redis'))('with %s', (kind) => {
    // connect-redis's touch resets only the key's TTL, not the stored cookie: its own choice.
    it("req.session.touch() resets the session's expiry: the store holds the later cookie expiry", async () => {
      const h = harness(kind, { cookie: { secure: false, maxAge: 3_600_000 } });
      const { cookie, id } = await start(h);
      const before = (await storedSession(h.store(), id))!.cookie.expires;
      pause(5);
      h.clock.ms += 61_000; // past the kit store's touchIntervalMs (60 s)
      await request(h.app).get('/touch').set('Cookie', cookie).expect(200);
      const after = (await storedSession(h.store(), id))!.cookie.expires;
      expect(new Date(after!).getTime()).toBeGreaterThan(new Date(before!).getTime());
      expect(h.errors).toEqual([]);
    });
  });
});
