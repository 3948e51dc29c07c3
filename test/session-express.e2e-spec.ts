import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import request from 'supertest';
import { sessionMiddleware, type SessionModuleOptions } from '../src';
import { digest } from '../src/redis/redis-keys';
import { uniquePrefix } from './support/test-redis';
import { specRedis, TEST_SECRET } from './session-support/session-test-app';

// express-session runs the kit's sessions: its behaviour and every one of its options, on a
// plain Express app built with the seed's `sessionMiddleware(options, redis)`.

const HTTPS = { 'X-Forwarded-Proto': 'https' };

function setCookies(res: { headers: Record<string, unknown> }): string[] {
  return (res.headers['set-cookie'] as string[] | undefined) ?? [];
}

function cookieOf(res: { headers: Record<string, unknown> }, name = 'sid'): string | undefined {
  return setCookies(res)
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0];
}

describe('SessionModule on express-session (plain Express, sessionMiddleware)', () => {
  const spec = specRedis();

  /** An app with the session middleware and the routes every test uses. */
  function app(options: Partial<SessionModuleOptions> = {}, extra?: (app: Express) => void) {
    const prefix = options.prefix ?? uniquePrefix('sess-x');
    const app = express();
    app.set('trust proxy', 'loopback');
    app.use(
      sessionMiddleware(
        { secret: TEST_SECRET, prefix, cookie: { secure: false }, ...options },
        spec.redis,
      ),
    );
    extra?.(app);
    app.post('/login/:user', (req, res) => {
      req.session.regenerate((error) => {
        if (error) return res.status(500).end();
        req.session.userId = req.params.user;
        res.json({ id: req.sessionID });
      });
    });
    app.get('/me', (req, res) => {
      res.json({ userId: req.session?.userId ?? null, keys: Object.keys(req.session ?? {}) });
    });
    app.post('/set/:value', (req, res) => {
      (req.session as unknown as Record<string, unknown>).value = req.params.value;
      res.json({ ok: true });
    });
    app.post('/unset', (req, res) => {
      (req as { session: unknown }).session = null;
      res.json({ ok: true });
    });
    return { app, prefix };
  }

  const sessionKeys = async (prefix: string) =>
    (await spec.inspect.keys(`${prefix}*`)).filter(
      (k) => !k.endsWith(':index') && !k.includes('{stats}'),
    );

  async function login(target: Express, user = 'u1', name = 'sid') {
    const res = await request(target).post(`/login/${user}`).expect(200);
    const cookie = cookieOf(res, name);
    if (!cookie) throw new Error('login set no cookie');
    return { cookie, id: res.body.id as string, res };
  }

  it("res.send('ok'); next(err): the headersSent error handler sees the answer sent (200 'ok', never a 500)", async () => {
    const { app: target } = app({}, (a) => {
      a.get('/early', (_req: Request, res: Response, next: NextFunction) => {
        res.send('ok');
        next(new Error('after the answer'));
      });
      // After a change to the session: express-session sends the headers and holds the
      // last byte until the store saved it.
      a.post('/early', (req: Request, res: Response, next: NextFunction) => {
        (req.session as unknown as Record<string, unknown>).seen = Date.now();
        res.send('ok');
        next(new Error('after the answer'));
      });
    });
    const seen: boolean[] = [];
    target.use((error: Error, _req: Request, res: Response, next: NextFunction) => {
      seen.push(res.headersSent);
      if (res.headersSent) return next(error);
      res.status(500).send('error handler');
    });
    target.set('env', 'test'); // finalhandler: no stack trace on the console
    const { cookie } = await login(target);
    for (const headers of [{}, { Cookie: cookie }]) {
      const res = await request(target).get('/early').set(headers);
      expect(res.status).toBe(200);
      expect(res.text).toBe('ok');
      // Express's final handler then closes the connection, as with express-session
      // anywhere; what matters is that the error handler saw the headers sent (no 500).
      await request(target)
        .post('/early')
        .set(headers)
        .catch(() => undefined);
    }
    expect(seen).toEqual([true, true, true, true]);
  });

  it('keeps the first body when a handler calls res.end() twice', async () => {
    const { app: target } = app({}, (a) => {
      a.get('/twice', (_req, res) => {
        res.end('first');
        res.end('second');
      });
      a.post('/twice', (req, res) => {
        (req.session as unknown as Record<string, unknown>).touched = true;
        res.end('first');
        res.end('second');
      });
    });
    const { cookie } = await login(target);
    expect((await request(target).get('/twice').set('Cookie', cookie)).text).toBe('first');
    expect((await request(target).post('/twice').set('Cookie', cookie)).text).toBe('first');
  });

  it('gives req.session its cookie as an enumerable key (express-session)', async () => {
    const { app: target } = app();
    const { cookie } = await login(target);
    const res = await request(target).get('/me').set('Cookie', cookie).expect(200);
    expect(res.body.keys).toEqual(expect.arrayContaining(['cookie', 'userId']));
  });

  it('name: the cookie carries that name', async () => {
    const { app: target } = app({ name: 'app.sid' });
    const { cookie } = await login(target, 'u1', 'app.sid');
    expect((await request(target).get('/me').set('Cookie', cookie)).body.userId).toBe('u1');
  });

  it('cookie: maxAge (sent as Expires), domain, path, sameSite, httpOnly, partitioned, priority', async () => {
    const { app: target } = app({
      cookie: {
        secure: true,
        maxAge: 3_600_000,
        domain: 'example.test',
        path: '/',
        sameSite: 'strict',
        httpOnly: false,
        partitioned: true,
        priority: 'high',
      },
    });
    const before = Date.now();
    const res = await request(target).post('/login/u1').set(HTTPS).expect(200);
    const header = setCookies(res).find((c) => c.startsWith('sid='))!;
    expect(header).toMatch(/; Domain=example\.test/);
    expect(header).toMatch(/; Path=\//);
    expect(header).toMatch(/; SameSite=Strict/);
    expect(header).toMatch(/; Secure/);
    expect(header).toMatch(/; Partitioned/);
    expect(header).toMatch(/; Priority=High/);
    expect(header).not.toMatch(/HttpOnly/);
    expect(header).not.toMatch(/Max-Age/); // express-session sends the lifetime as Expires
    const expires = Date.parse(/; Expires=([^;]+)/.exec(header)![1]!);
    expect(expires).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1000);
  });

  it('cookie: defaults to the absolute lifetime as Expires, and path limits where sessions run', async () => {
    const { app: target } = app({
      ttlMs: 3_600_000,
      absoluteTtlMs: 7_200_000,
      cookie: { secure: false, path: '/me' },
    });
    target.get('/me/deep', (req, res) => res.json({ session: Boolean(req.session) }));
    target.get('/other', (req, res) => res.json({ session: Boolean(req.session) }));
    expect((await request(target).get('/me/deep')).body.session).toBe(true);
    expect((await request(target).get('/other')).body.session).toBe(false); // path mismatch
    const { app: plain } = app({ ttlMs: 3_600_000, absoluteTtlMs: 7_200_000 });
    const res = await request(plain).post('/login/u1').expect(200);
    const expires = Date.parse(/; Expires=([^;]+)/.exec(setCookies(res)[0]!)![1]!);
    expect(Math.abs(expires - (Date.now() + 7_200_000))).toBeLessThan(2000);
  });

  it('cookie: a function of the request picks the attributes per request', async () => {
    const { app: target } = app({
      cookie: (req) => ({
        secure: false,
        sameSite: req.path.includes('strict') ? 'strict' : 'lax',
      }),
    });
    target.post('/strict/login', (req, res) => {
      req.session.userId = 'u1';
      res.json({ ok: true });
    });
    const strict = await request(target).post('/strict/login').expect(200);
    expect(setCookies(strict)[0]).toMatch(/SameSite=Strict/);
    const lax = await request(target).post('/login/u1').expect(200);
    expect(setCookies(lax)[0]).toMatch(/SameSite=Lax/);
  });

  it('genid: the app picks session ids; the store still keys them by a hash', async () => {
    let n = 0;
    const { app: target, prefix } = app({ genid: () => `custom-${++n}-${Date.now()}` });
    const { cookie, id } = await login(target);
    expect(id).toMatch(/^custom-\d+-\d+$/);
    expect((await request(target).get('/me').set('Cookie', cookie)).body.userId).toBe('u1');
    const keys = await sessionKeys(prefix);
    expect(keys).toEqual([`${prefix}{${digest(id, 32).slice(0, 16)}}:${digest(id, 32)}`]);
    expect(keys.join()).not.toContain('custom');
  });

  it('resave: true writes an unmodified session back on every request; false does not', async () => {
    for (const [resave, expected] of [
      [true, 5],
      [false, 0],
    ] as const) {
      const { app: target } = app({ resave });
      const { cookie } = await login(target);
      const before = await spec.inspect.commandCalls();
      for (let i = 0; i < 5; i++)
        await request(target).get('/me').set('Cookie', cookie).expect(200);
      const after = await spec.inspect.commandCalls();
      // Each write of the session moves its expiry (PEXPIREAT, inside the store's script);
      // the counters, written beside the request, use other commands.
      expect((after.pexpireat ?? 0) - (before.pexpireat ?? 0)).toBe(expected);
    }
  });

  it('saveUninitialized: true stores and sends a new empty session; the default does not', async () => {
    const { app: eager, prefix: eagerPrefix } = app({ saveUninitialized: true });
    const res = await request(eager).get('/me').expect(200);
    expect(cookieOf(res)).toBeDefined();
    expect(await sessionKeys(eagerPrefix)).toHaveLength(1);
    const { app: lazy, prefix: lazyPrefix } = app();
    expect(cookieOf(await request(lazy).get('/me').expect(200))).toBeUndefined();
    expect(await sessionKeys(lazyPrefix)).toEqual([]);
  });

  it('rolling: true sends the cookie again on every response; the default only when it changes', async () => {
    const { app: rolling } = app({ rolling: true });
    const first = await login(rolling);
    expect(cookieOf(await request(rolling).get('/me').set('Cookie', first.cookie))).toBe(
      first.cookie,
    );
    const { app: fixed } = app();
    const second = await login(fixed);
    expect(cookieOf(await request(fixed).get('/me').set('Cookie', second.cookie))).toBeUndefined();
  });

  it('proxy: true trusts X-Forwarded-Proto for the Secure cookie; false never does', async () => {
    for (const [proxy, sent] of [
      [true, true],
      [false, false],
      [undefined, true], // Express's trust proxy (loopback here) decides
    ] as const) {
      const { app: target } = app({ proxy, cookie: { secure: true } });
      target.set('trust proxy', proxy === true ? false : 'loopback');
      const res = await request(target).post('/login/u1').set(HTTPS).expect(200);
      expect(cookieOf(res, '__Host-sid') !== undefined).toBe(sent);
    }
  });

  it("unset: 'destroy' deletes the session when req.session is set to null; the default keeps it", async () => {
    const { app: destroying, prefix } = app({ unset: 'destroy' });
    const one = await login(destroying);
    await request(destroying).post('/unset').set('Cookie', one.cookie).expect(200);
    expect(await sessionKeys(prefix)).toEqual([]);
    const { app: keeping, prefix: kept } = app();
    const two = await login(keeping);
    await request(keeping).post('/unset').set('Cookie', two.cookie).expect(200);
    expect(await sessionKeys(kept)).toHaveLength(1);
  });

  it("store: an app's own store replaces the kit's", async () => {
    const own = new session.MemoryStore();
    const { app: target, prefix } = app({ store: own });
    const { cookie, id } = await login(target);
    expect((await request(target).get('/me').set('Cookie', cookie)).body.userId).toBe('u1');
    const stored = await new Promise((resolve) => own.get(id, (_e, s) => resolve(s)));
    expect(stored).toEqual(expect.objectContaining({ userId: 'u1' }));
    expect(await spec.inspect.keys(`${prefix}*`)).toEqual([]);
  });

  it('secret: an array rotates (the first signs, every one verifies)', async () => {
    const prefix = uniquePrefix('sess-rot');
    const old = app({ prefix });
    const { cookie } = await login(old.app);
    const fresh = 'rotated-secret-9876543210-zyxwvutsrqpon';
    const rotated = app({ prefix, secret: [fresh, TEST_SECRET] });
    expect((await request(rotated.app).get('/me').set('Cookie', cookie)).body.userId).toBe('u1');
    const signedNew = await login(rotated.app, 'u2');
    expect(
      (await request(old.app).get('/me').set('Cookie', signedNew.cookie)).body.userId,
    ).toBeNull();
  });
});
