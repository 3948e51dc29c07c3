import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { sessionMiddleware } from '../src';
import { uniquePrefix } from './support/test-redis';
import { specRedis, TEST_SECRET } from './session-support/session-test-app';

// A team on express-session + connect-redis switches to the kit: with `legacyPrefix`, every
// session connect-redis wrote is read once and moved into the kit's format; nobody is logged out.

describe('SessionModule adopts sessions connect-redis wrote (legacyPrefix)', () => {
  const spec = specRedis();

  /** The app as it was: express-session + connect-redis (its defaults, our secret and name). */
  function before(legacy: string) {
    const app = express();
    app.use(
      session({
        store: new RedisStore({ client: spec.redis as never, prefix: legacy }),
        secret: TEST_SECRET,
        name: 'sid',
        resave: false,
        saveUninitialized: false,
      }),
    );
    app.post('/login', (req, res) => {
      req.session.userId = 'u-legacy';
      (req.session as unknown as Record<string, unknown>).theme = 'dark';
      res.json({ id: req.sessionID });
    });
    return app;
  }

  /** The app after the switch. */
  function after(prefix: string, legacyPrefix?: string) {
    const app = express();
    app.use(
      sessionMiddleware(
        { secret: TEST_SECRET, name: 'sid', prefix, legacyPrefix, cookie: { secure: false } },
        spec.redis,
      ),
    );
    app.get('/me', (req, res) => {
      const data = req.session as unknown as Record<string, unknown>;
      res.json({ userId: data.userId ?? null, theme: data.theme ?? null });
    });
    return app;
  }

  it('reads a connect-redis session on a miss, moves it into the kit format, keeps the user logged in', async () => {
    const legacy = uniquePrefix('legacy');
    const prefix = uniquePrefix('sess-adopt');
    const res = await request(before(legacy)).post('/login').expect(200);
    const cookie = (res.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    const id = res.body.id as string;
    expect(await spec.inspect.keys(`${legacy}*`)).toEqual([`${legacy}${id}`]);

    // Without adoption the switch would log the user out.
    const forgetful = after(uniquePrefix('sess-no-adopt'));
    expect((await request(forgetful).get('/me').set('Cookie', cookie)).body.userId).toBeNull();

    const kit = after(prefix, legacy);
    const first = await request(kit).get('/me').set('Cookie', cookie).expect(200);
    expect(first.body).toEqual({ userId: 'u-legacy', theme: 'dark' });
    expect(await spec.inspect.keys(`${legacy}*`)).toEqual([]); // moved, not copied
    const moved = (await spec.inspect.keys(`${prefix}*`)).filter((k) => !k.includes('{stats}'));
    expect(moved).toHaveLength(1);
    expect(moved[0]).not.toContain(id); // keyed by a hash, as every kit session
    const again = await request(kit).get('/me').set('Cookie', cookie).expect(200);
    expect(again.body).toEqual({ userId: 'u-legacy', theme: 'dark' });
  });
});
