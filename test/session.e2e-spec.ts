import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { digest } from '../src/redis/redis-keys';
import {
  inspectClient,
  type RedisInspector,
  sampleRedis,
  uniquePrefix,
} from './support/test-redis';
import { sessionCookie, sessionSampleApp, TEST_SECRET } from './session-support/session-test-app';

const HTTPS = { 'X-Forwarded-Proto': 'https' };

async function sampleApp(prefix: string, extra: object = {}): Promise<INestApplication> {
  return sessionSampleApp({
    ...sampleRedis(),
    sessionSecret: TEST_SECRET,
    session: { prefix, ...extra },
  });
}

async function login(app: INestApplication, username = 'alice', cookie?: string) {
  const password = username === 'alice' ? 'wonderland' : 'builder';
  const req = request(app.getHttpServer()).post('/auth/login').set(HTTPS);
  if (cookie) req.set('Cookie', cookie);
  const res = await req.send({ username, password }).expect(200);
  const value = sessionCookie(res);
  if (!value) throw new Error('login set no session cookie');
  return { res, cookie: value };
}

function profile(app: INestApplication, cookie?: string) {
  const req = request(app.getHttpServer()).get('/profile').set(HTTPS);
  return cookie ? req.set('Cookie', cookie) : req;
}

function rawId(cookie: string): string {
  const value = decodeURIComponent(cookie.split('=')[1]!); // s:<id>.<signature>
  return value.slice(2, value.lastIndexOf('.'));
}

async function keys(redis: RedisInspector, prefix: string): Promise<string[]> {
  return redis.keys(`${prefix}*`);
}

describe('SessionModule on the sample app (Redis)', () => {
  let redis: RedisInspector;
  beforeAll(async () => (redis = await inspectClient()));
  afterAll(() => redis.close());

  it('logs in with a Secure HttpOnly SameSite=Lax __Host- cookie, logs out for good', async () => {
    const prefix = uniquePrefix('sess');
    const app = await sampleApp(prefix);
    const { res, cookie } = await login(app);
    const setCookie = (res.headers['set-cookie'] as unknown as string[]).find((c) =>
      c.startsWith('__Host-sid='),
    )!;
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).toMatch(/; SameSite=Lax/);
    expect(setCookie).not.toMatch(/Domain=/i);
    expect(res.headers['cache-control']).toBe('no-store');

    const me = await profile(app, cookie).expect(200);
    expect(me.body).toEqual({ id: 'u-alice', name: 'Alice', email: 'alice@example.com' });

    // Keys hold hashes: neither the session id nor the user id appears in Redis.
    const id = rawId(cookie);
    const stored = await keys(redis, prefix);
    const tag = id.split('.')[0]!;
    expect(stored).toContain(`${prefix}{${tag}}:${digest(id, 32)}`);
    expect(stored).toContain(`${prefix}{${tag}}:index`);
    expect(stored.join(' ')).not.toContain(id.split('.')[1]!);
    expect(stored.join(' ')).not.toContain('u-alice');

    const out = await request(app.getHttpServer())
      .post('/auth/logout')
      .set(HTTPS)
      .set('Cookie', cookie)
      .expect(200);
    expect(out.headers['clear-site-data']).toBe('"cache", "cookies", "storage"');
    expect(sessionCookie(out)).toBe('__Host-sid=');
    expect(out.headers['cache-control']).toBe('no-store');

    const replay = await profile(app, cookie).expect(401);
    expect(replay.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'A session is required: log in first.',
    });
    expect(await redis.redis.exists(`${prefix}{${tag}}:${digest(id, 32)}`)).toBe(0);
    await app.close();
  });

  it('gives a fresh id at login (fixation) and never adopts a forged id', async () => {
    const prefix = uniquePrefix('sess');
    const app = await sampleApp(prefix);
    const first = await login(app, 'alice');
    const second = await login(app, 'bob', first.cookie);
    expect(rawId(second.cookie)).not.toBe(rawId(first.cookie));
    await profile(app, first.cookie).expect(401); // the pre-login session was destroyed
    expect((await profile(app, second.cookie).expect(200)).body.id).toBe('u-bob');

    // A random value, and a well-formed id signed with the real secret but never issued.
    const { createHmac, randomBytes } = await import('node:crypto');
    const forgedId = `${'a'.repeat(16)}.${randomBytes(32).toString('base64url')}`;
    const signature = createHmac('sha256', TEST_SECRET)
      .update(forgedId)
      .digest('base64')
      .replace(/=+$/, '');
    for (const forged of [
      '__Host-sid=s%3Anot-a-session.bogus',
      `__Host-sid=${encodeURIComponent(`s:${forgedId}.${signature}`)}`,
    ]) {
      await profile(app, forged).expect(401);
      const after = await login(app, 'alice', forged);
      expect(rawId(after.cookie)).not.toBe(forgedId);
    }
    expect((await keys(redis, prefix)).join(' ')).not.toContain(digest(forgedId, 32));
    await app.close();
  });

  it('shares sessions between two app instances on one Redis', async () => {
    const prefix = uniquePrefix('sess');
    const [one, two] = [await sampleApp(prefix), await sampleApp(prefix)];
    const { cookie } = await login(one);
    expect((await profile(two, cookie).expect(200)).body.id).toBe('u-alice');
    await request(two.getHttpServer()).post('/auth/logout').set(HTTPS).set('Cookie', cookie);
    await profile(one, cookie).expect(401);
    await Promise.all([one.close(), two.close()]);
  });

  it('accepts a cookie signed with a previous secret while it is in the array', async () => {
    const prefix = uniquePrefix('sess');
    const newSecret = 'rotated-secret-9876543210-zyxwvutsrqpon';
    const old = await sampleApp(prefix);
    const { cookie } = await login(old);
    const rotated = await sessionSampleApp({
      ...sampleRedis(),
      sessionSecret: TEST_SECRET,
      session: { prefix, secret: [newSecret, TEST_SECRET] },
    });
    await profile(rotated, cookie).expect(200);
    const fresh = await login(rotated, 'bob');
    await profile(old, fresh.cookie).expect(401); // signed with the new secret only
    const dropped = await sessionSampleApp({
      ...sampleRedis(),
      session: { prefix, secret: newSecret },
    });
    await profile(dropped, cookie).expect(401);
    await Promise.all([old.close(), rotated.close(), dropped.close()]);
  });

  it('lists a user sessions across devices, revokes one, then all but the current', async () => {
    const prefix = uniquePrefix('sess');
    const app = await sampleApp(prefix);
    const devices = [await login(app), await login(app), await login(app)].map((d) => d.cookie);
    const server = app.getHttpServer();
    const list = await request(server)
      .get('/auth/sessions')
      .set(HTTPS)
      .set('Cookie', devices[0]!)
      .set('User-Agent', 'device-0')
      .expect(200);
    expect(list.body).toHaveLength(3);
    expect(list.body.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    expect(list.body[0]).toEqual(
      expect.objectContaining({ id: expect.any(String), createdAt: expect.any(String) }),
    );
    expect(JSON.stringify(list.body)).not.toContain(rawId(devices[1]!));
    const other = list.body.find((s: { current: boolean }) => !s.current).id as string;
    await request(server)
      .delete(`/auth/sessions/${other}`)
      .set(HTTPS)
      .set('Cookie', devices[0]!)
      .expect(200);
    const alive = await Promise.all(devices.map((c) => profile(app, c).then((r) => r.status)));
    expect(alive.filter((s) => s === 401)).toHaveLength(1);

    // Bob cannot revoke Alice's session.
    const bob = await login(app, 'bob');
    const aliceCurrent = list.body.find((s: { current: boolean }) => s.current).id as string;
    await request(server)
      .delete(`/auth/sessions/${aliceCurrent}`)
      .set(HTTPS)
      .set('Cookie', bob.cookie)
      .expect(404);

    const all = await request(server)
      .delete('/auth/sessions')
      .set(HTTPS)
      .set('Cookie', devices[0]!)
      .expect(200);
    expect(all.body).toEqual({ revoked: 1 });
    const statuses = await Promise.all(devices.map((c) => profile(app, c).then((r) => r.status)));
    expect(statuses).toEqual([200, 401, 401]);
    await profile(app, bob.cookie).expect(200);
    await app.close();
  });

  it('evicts the oldest session past maxSessionsPerUser', async () => {
    const prefix = uniquePrefix('sess');
    const app = await sampleApp(prefix, { maxSessionsPerUser: 2 });
    const devices: string[] = [];
    for (let i = 0; i < 4; i++) devices.push((await login(app)).cookie);
    const statuses = await Promise.all(devices.map((c) => profile(app, c).then((r) => r.status)));
    expect(statuses).toEqual([401, 401, 200, 200]);
    const list = await request(app.getHttpServer())
      .get('/auth/sessions')
      .set(HTTPS)
      .set('Cookie', devices[3]!)
      .expect(200);
    expect(list.body).toHaveLength(2);
    await app.close();
  });

  it('works the same on the embedded memory store (no Redis)', async () => {
    const app = await sessionSampleApp({ sessionSecret: TEST_SECRET });
    await profile(app).expect(401);
    const { cookie } = await login(app);
    await profile(app, cookie).expect(200);
    await request(app.getHttpServer()).post('/auth/logout').set(HTTPS).set('Cookie', cookie);
    await profile(app, cookie).expect(401);
    await app.close();
  });

  it('refuses DELETE /auth/sessions/ with an empty (404) or malformed (400) id, revoking nothing', async () => {
    const prefix = uniquePrefix('sess');
    const app = await sampleApp(prefix);
    const devices = [await login(app), await login(app)].map((d) => d.cookie);
    const server = app.getHttpServer();
    await request(server)
      .delete('/auth/sessions/')
      .set(HTTPS)
      .set('Cookie', devices[0]!)
      .expect(404);
    for (const id of ['not-a-session', 'a'.repeat(16), `${'g'.repeat(16)}.${'0'.repeat(32)}`])
      await request(server)
        .delete(`/auth/sessions/${id}`)
        .set(HTTPS)
        .set('Cookie', devices[0]!)
        .expect(400);
    const statuses = await Promise.all(devices.map((c) => profile(app, c).then((r) => r.status)));
    expect(statuses).toEqual([200, 200]);
    await app.close();
  });

  it('TRUST_PROXY sets the session proxy trust: a Secure cookie behind the proxy, none without it', async () => {
    const prefix = uniquePrefix('sess');
    const behind = await sessionSampleApp(
      { ...sampleRedis(), sessionSecret: TEST_SECRET, session: { prefix }, trustProxy: 1 },
      { trustLoopback: false },
    );
    const res = await request(behind.getHttpServer())
      .post('/auth/login')
      .set(HTTPS)
      .send({ username: 'alice', password: 'wonderland' })
      .expect(200);
    expect(sessionCookie(res)).toBeDefined();
    const direct = await sessionSampleApp(
      { ...sampleRedis(), sessionSecret: TEST_SECRET, session: { prefix } },
      { trustLoopback: false },
    );
    const none = await request(direct.getHttpServer())
      .post('/auth/login')
      .set(HTTPS)
      .send({ username: 'alice', password: 'wonderland' })
      .expect(200);
    expect(sessionCookie(none)).toBeUndefined(); // no proxy trusted: the header proves nothing
    await Promise.all([behind.close(), direct.close()]);
  });
});
