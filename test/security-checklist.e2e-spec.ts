import { createHmac, randomBytes } from 'node:crypto';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { LlmProvider } from '../sample/llm/llm-provider';
import type { SampleOptions } from '../sample/sample-options';
import { REDIS_CLIENT, SessionModule, type RedisConnection } from '../src';
import { digest } from '../src/redis/redis-keys';
import {
  inspectClient,
  ownRedis,
  type OwnRedis,
  type RedisInspector,
  sampleRedis,
  untilReady,
} from './support/test-redis';
import { startSampleApp } from './support/sample-app';
import { sessionCookie, TEST_SECRET } from './session-support/session-test-app';

// The security checklist of issue 7, one test per item, named after it (the README's
// "Security" section lists them). Session items follow the OWASP Session Management Cheat
// Sheet and ASVS 5.0 V7. Everything runs on the sample app and a Redis of this spec's own (a
// server, or a cluster), so a SCAN of the whole keyspace sees exactly what this spec made.

const HTTPS = { 'X-Forwarded-Proto': 'https' };
const STATS_TOKEN = 'checklist-stats-token-0123456789';
const PASSWORDS: Record<string, string> = { alice: 'wonderland', bob: 'builder' };

/** Every session id and prompt this spec used: none may appear in a Redis key or a log line. */
const issuedIds = new Set<string>();
const prompts = new Set<string>();

const marker = (kind: string) => `${kind}-${randomBytes(6).toString('hex')}`;
function prompt(): string {
  const text = `Secret prompt ${marker('PROMPT')} about my diagnosis`;
  prompts.add(text);
  return text;
}

/** `s:<id>.<signature>`, URL-decoded, of a cookie `name=value`. */
const cookieValue = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!);
const rawId = (cookie: string) => {
  const value = cookieValue(cookie);
  return value.slice(2, value.lastIndexOf('.'));
};
const sign = (value: string) =>
  createHmac('sha256', TEST_SECRET).update(value).digest('base64').replace(/=+$/, '');

describe('security checklist', () => {
  let server: OwnRedis;
  let inspect: RedisInspector;
  const latency = process.env.LLM_LATENCY_MS;

  beforeAll(async () => {
    process.env.LLM_LATENCY_MS = '1';
    server = await ownRedis();
    inspect = await inspectClient(server.target);
  });
  afterAll(async () => {
    process.env.LLM_LATENCY_MS = latency;
    inspect.close();
    await server.stop();
  });

  let apps = 0;
  async function sample(
    options: SampleOptions = {},
    logger: boolean | LoggerService = false,
  ): Promise<INestApplication> {
    return startSampleApp(
      {
        ...sampleRedis(server.target),
        sessionSecret: TEST_SECRET,
        statsToken: STATS_TOKEN,
        // The sample's own limits, with counters of this app's own (no test spends another's).
        throttling: { keyPrefix: `rl-${++apps}:` },
        ...options,
      },
      { trustProxy: 'loopback', logger },
    );
  }

  async function login(app: INestApplication, username = 'alice', cookie?: string) {
    const req = request(app.getHttpServer()).post('/auth/login').set(HTTPS);
    if (cookie) req.set('Cookie', cookie);
    const res = await req.send({ username, password: PASSWORDS[username] }).expect(200);
    const value = sessionCookie(res);
    if (!value) throw new Error('login set no session cookie');
    issuedIds.add(rawId(value));
    return { res, cookie: value };
  }

  const profile = (app: INestApplication, cookie?: string) => {
    const req = request(app.getHttpServer()).get('/profile').set(HTTPS);
    return cookie ? req.set('Cookie', cookie) : req;
  };

  function generate(app: INestApplication, body: object, cookie?: string) {
    const req = request(app.getHttpServer()).post('/llm/generate').set(HTTPS);
    if (cookie) req.set('Cookie', cookie);
    return req.send({ model: 'gpt-4o-mini', ...body });
  }

  /** Every key of the spec's own Redis (SCAN, never KEYS). */
  const allKeys = (): Promise<string[]> => inspect.keys();

  /** The keys of one session prefix, holding session data (not indexes or counters). */
  async function sessionDataKeys(prefix: string): Promise<string[]> {
    return (await allKeys()).filter(
      (key) => key.startsWith(prefix) && !key.endsWith(':index') && !key.includes('{stats}'),
    );
  }

  describe('session management (OWASP Session Management Cheat Sheet, ASVS 5.0 V7)', () => {
    let app: INestApplication;
    beforeAll(async () => (app = await sample()));
    afterAll(() => app.close());

    it('session id has at least 64 bits of entropy (128 for ASVS 5.0)', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(rawId((await login(app)).cookie));
      expect(new Set(ids).size).toBe(ids.length);
      const secrets = ids.map((id) => Buffer.from(id.split('.')[1]!, 'base64url'));
      // 32 random bytes (256 bits) after the routing tag; the tag is not counted as entropy.
      for (const secret of secrets) expect(secret.length * 8).toBeGreaterThanOrEqual(128);
      // Independent random values differ in about half their bits; a counter or a clock does not.
      for (let i = 1; i < secrets.length; i++) {
        let differing = 0;
        for (let b = 0; b < 32; b++) {
          let x = secrets[i]![b]! ^ secrets[i - 1]![b]!;
          for (; x; x &= x - 1) differing++;
        }
        expect(differing).toBeGreaterThan(64);
      }
    });

    it('session id is renewed on login (fixation)', async () => {
      const before = await login(app, 'alice');
      const after = await login(app, 'bob', before.cookie);
      expect(rawId(after.cookie)).not.toBe(rawId(before.cookie));
      await profile(app, before.cookie).expect(401);
      expect((await profile(app, after.cookie).expect(200)).body.id).toBe('u-bob');
      // An id planted by an attacker (well formed, signed with the real secret) is not adopted.
      const planted = `${randomBytes(8).toString('hex')}.${randomBytes(32).toString('base64url')}`;
      const plantedCookie = `__Host-sid=${encodeURIComponent(`s:${planted}.${sign(planted)}`)}`;
      const victim = await login(app, 'alice', plantedCookie);
      expect(rawId(victim.cookie)).not.toBe(planted);
      await profile(app, plantedCookie).expect(401);
    });

    it('only server-issued session ids are accepted (strict session management)', async () => {
      const forged = `${randomBytes(8).toString('hex')}.${randomBytes(32).toString('base64url')}`;
      const keysBefore = await allKeys();
      for (const cookie of [
        `__Host-sid=${encodeURIComponent(`s:${forged}.${sign(forged)}`)}`, // never issued
        `__Host-sid=${encodeURIComponent(`s:${forged}.${'A'.repeat(43)}`)}`, // bad signature
        `__Host-sid=${forged}`, // unsigned
      ]) {
        const res = await profile(app, cookie).expect(401);
        expect(res.headers['set-cookie']).toBeUndefined();
      }
      // Session stats counters (batched, flushed on a timer after earlier logins) may appear
      // meanwhile; what must not appear is any session or index key.
      const added = (await allKeys()).filter((key) => !keysBefore.includes(key));
      expect(added.filter((key) => !key.includes('{stats}'))).toEqual([]);
    });

    it('session cookie is HttpOnly, Secure and SameSite', async () => {
      const { res } = await login(app);
      const header = (res.headers['set-cookie'] as unknown as string[]).find((c) =>
        c.startsWith('__Host-sid='),
      )!;
      expect(header).toMatch(/; HttpOnly(;|$)/);
      expect(header).toMatch(/; Secure(;|$)/);
      expect(header).toMatch(/; SameSite=(Lax|Strict)(;|$)/);
    });

    it('session cookie has the __Host- prefix (Secure, Path=/, no Domain)', async () => {
      const { res } = await login(app);
      const header = (res.headers['set-cookie'] as unknown as string[]).find((c) =>
        c.startsWith('__Host-'),
      )!;
      expect(header).toMatch(/^__Host-sid=/);
      expect(header).toMatch(/; Path=\/(;|$)/);
      expect(header).toMatch(/; Secure(;|$)/);
      expect(header).not.toMatch(/Domain=/i);
    });

    it('responses that set or clear the session cookie are not cached (Cache-Control: no-store)', async () => {
      const { res, cookie } = await login(app);
      expect(res.headers['cache-control']).toBe('no-store');
      const out = await request(app.getHttpServer())
        .post('/auth/logout')
        .set(HTTPS)
        .set('Cookie', cookie)
        .expect(200);
      expect(out.headers['cache-control']).toBe('no-store');
    });

    it('logout invalidates the session server-side', async () => {
      const prefix = 'sess:';
      const { cookie } = await login(app);
      const id = rawId(cookie);
      const tag = id.split('.')[0]!;
      const key = `${prefix}{${tag}}:${digest(id, 32)}`;
      const mine = async () => (await sessionDataKeys(prefix)).filter((k) => k === key);
      expect(await mine()).toHaveLength(1);
      await request(app.getHttpServer())
        .post('/auth/logout')
        .set(HTTPS)
        .set('Cookie', cookie)
        .expect(200);
      expect(await mine()).toEqual([]);
      // The old cookie, replayed as is (a copy an attacker kept), is refused.
      await profile(app, cookie).expect(401);
    });

    it('logout clears the cookie and the browser state (Clear-Site-Data)', async () => {
      const { cookie } = await login(app);
      const out = await request(app.getHttpServer())
        .post('/auth/logout')
        .set(HTTPS)
        .set('Cookie', cookie)
        .expect(200);
      expect(sessionCookie(out)).toBe('__Host-sid=');
      expect(out.headers['clear-site-data']).toBe('"cache", "cookies", "storage"');
    });

    it('no session id in URLs', async () => {
      const { res, cookie } = await login(app);
      const id = rawId(cookie);
      const value = encodeURIComponent(cookieValue(cookie));
      // Ids carried in a URL are never read: only the cookie authenticates.
      for (const path of [
        `/profile?sid=${value}`,
        `/profile?__Host-sid=${value}`,
        `/profile;jsessionid=${value}`,
        `/profile?session=${encodeURIComponent(id)}`,
      ]) {
        const res = await request(app.getHttpServer()).get(path).set(HTTPS);
        expect([401, 404]).toContain(res.status); // 404: a path parameter names no route
        expect(JSON.stringify(res.body)).not.toContain('u-alice');
      }
      // And the server never hands the id out anywhere but the cookie.
      expect(JSON.stringify(res.body)).not.toContain(id);
      expect(res.headers.location).toBeUndefined();
      const list = await request(app.getHttpServer())
        .get('/auth/sessions')
        .set(HTTPS)
        .set('Cookie', cookie)
        .expect(200);
      expect(JSON.stringify(list.body)).not.toContain(id.split('.')[1]!);
    });

    it('concurrent session limit', async () => {
      // The sample caps a user at 5 sessions: a sixth login evicts the oldest.
      const devices: string[] = [];
      for (let i = 0; i < 6; i++) devices.push((await login(app, 'bob')).cookie);
      const statuses = await Promise.all(devices.map((c) => profile(app, c).then((r) => r.status)));
      expect(statuses).toEqual([401, 200, 200, 200, 200, 200]);
      const list = await request(app.getHttpServer())
        .get('/auth/sessions')
        .set(HTTPS)
        .set('Cookie', devices[5]!)
        .expect(200);
      expect(list.body).toHaveLength(5);
    });

    it('a user can see their active sessions and end all the others', async () => {
      const devices: string[] = [];
      for (let i = 0; i < 3; i++) devices.push((await login(app, 'alice')).cookie);
      const res = await request(app.getHttpServer())
        .delete('/auth/sessions')
        .set(HTTPS)
        .set('Cookie', devices[2]!)
        .expect(200);
      expect(res.body.revoked).toBeGreaterThanOrEqual(2);
      const statuses = await Promise.all(devices.map((c) => profile(app, c).then((r) => r.status)));
      expect(statuses).toEqual([401, 401, 200]);
    });

    it('idle timeout enforced server-side', async () => {
      let now = Date.now();
      const idle = await sample({
        session: { prefix: 'sess-idle:', ttlMs: 10_000, touchIntervalMs: 1_000, clock: () => now },
      });
      const { cookie } = await login(idle);
      now += 9_000;
      await profile(idle, cookie).expect(200);
      now += 10_001; // the cookie is still valid (its Expires is the absolute lifetime): the server ends it
      await profile(idle, cookie).expect(401);
      await idle.close();
    });

    it('absolute timeout enforced server-side', async () => {
      let now = Date.now();
      const capped = await sample({
        session: {
          prefix: 'sess-abs:',
          ttlMs: 10_000,
          absoluteTtlMs: 30_000,
          touchIntervalMs: 1_000,
          clock: () => now,
        },
      });
      const { cookie } = await login(capped);
      for (let used = 0; used < 5; used++) {
        now += 5_000;
        await profile(capped, cookie).expect(200);
      }
      now += 5_000; // busy all along, but 30 s after login
      await profile(capped, cookie).expect(401);
      await capped.close();
    });

    it('weak, short or well-known session secrets are refused at start-up', async () => {
      // In production: refused. Elsewhere (development, tests) the app starts with a warning.
      for (const secret of ['keyboard cat', 'short-secret', 'a'.repeat(40)]) {
        await expect(
          Test.createTestingModule({
            imports: [SessionModule.forRoot({ secret, environment: 'production' })],
          }).compile(),
        ).rejects.toThrow(/secret.*randomBytes\(32\)/i);
      }
      // A missing secret is refused everywhere.
      for (const environment of ['production', 'development', 'test'])
        await expect(
          Test.createTestingModule({
            imports: [SessionModule.forRoot({ secret: undefined as never, environment })],
          }).compile(),
        ).rejects.toThrow(/a `secret` is required/);
    });

    it('an insecure session cookie is refused in production', async () => {
      await expect(
        Test.createTestingModule({
          imports: [
            SessionModule.forRoot({
              secret: TEST_SECRET,
              environment: 'production',
              cookie: { secure: false },
            }),
          ],
        }).compile(),
      ).rejects.toThrow(/secure/i);
    });
  });

  describe('cache isolation across users', () => {
    async function isolation(options: SampleOptions) {
      const app = await sample(options);
      const provider = app.get(LlmProvider);
      const alice = (await login(app, 'alice')).cookie;
      const bob = (await login(app, 'bob')).cookie;
      const body = { prompt: prompt(), temperature: 0 };
      const cache = async (cookie?: string) =>
        (await generate(app, body, cookie).expect(200)).headers['x-cache'] as string;
      const result = {
        aliceFirst: await cache(alice),
        aliceAgain: await cache(alice),
        bob: await cache(bob),
        bobAgain: await cache(bob),
        anonymous: await cache(),
        calls: provider.calls,
      };
      await app.close();
      return result;
    }

    it("user B never gets user A's entry (scope 'user')", async () => {
      const seen = await isolation({ caching: { scope: 'user' } });
      expect(seen).toEqual({
        aliceFirst: 'MISS',
        aliceAgain: 'HIT',
        bob: 'MISS', // same body, but Alice's entry is not Bob's
        bobAgain: 'HIT',
        anonymous: 'BYPASS', // no user: 'user' scope neither reads nor writes
        calls: 3,
      });
    });

    it("user B never gets user A's entry (default scope)", async () => {
      const seen = await isolation({});
      expect(seen).toEqual({
        aliceFirst: 'MISS',
        aliceAgain: 'HIT',
        bob: 'MISS',
        bobAgain: 'HIT',
        anonymous: 'MISS', // anonymous callers share a partition of their own
        calls: 3,
      });
    });
  });

  describe('stats endpoint protection', () => {
    it('stats routes answer 401 without the token and 200 with it', async () => {
      const app = await sample();
      for (const path of ['/stats', '/stats/cache', '/stats/sessions', '/stats/series']) {
        const res = await request(app.getHttpServer()).get(path).expect(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        await request(app.getHttpServer())
          .get(path)
          .auth('wrong-token-0123456789abcdef', { type: 'bearer' })
          .expect(401);
        await request(app.getHttpServer())
          .get(path)
          .auth(STATS_TOKEN, { type: 'bearer' })
          .expect(200);
      }
      await app.close();
    });

    it('stats reset is refused without protection (403) and without the token (401)', async () => {
      const open = await sample({ statsToken: undefined });
      await request(open.getHttpServer()).get('/stats').expect(200); // public reads, like the seed
      await request(open.getHttpServer()).post('/stats/reset').expect(403);
      await open.close();
      const guarded = await sample();
      await request(guarded.getHttpServer()).post('/stats/reset').expect(401);
      await request(guarded.getHttpServer())
        .post('/stats/reset')
        .auth(STATS_TOKEN, { type: 'bearer' })
        .expect(200);
      await guarded.close();
    });
  });

  describe('no prompt text or session id in Redis keys or log lines', () => {
    const lines: string[] = [];
    let outageLines = 0;

    /** A LoggerService that keeps every line, with every argument (errors with their stack). */
    class CapturingLogger implements LoggerService {
      private keep(level: string, message: unknown, params: unknown[]): void {
        const text = [message, ...params]
          .map((part) =>
            part instanceof Error ? `${part.message}\n${part.stack}` : JSON.stringify(part),
          )
          .join(' ');
        lines.push(`${level} ${text}`);
      }
      log = (message: unknown, ...params: unknown[]) => this.keep('log', message, params);
      error = (message: unknown, ...params: unknown[]) => this.keep('error', message, params);
      warn = (message: unknown, ...params: unknown[]) => this.keep('warn', message, params);
      debug = (message: unknown, ...params: unknown[]) => this.keep('debug', message, params);
      verbose = (message: unknown, ...params: unknown[]) => this.keep('verbose', message, params);
      fatal = (message: unknown, ...params: unknown[]) => this.keep('fatal', message, params);
    }

    /** Traffic on every module, then Redis killed and brought back, all of it logged. */
    beforeAll(async () => {
      const writes = { out: process.stdout.write, err: process.stderr.write };
      const capture = (chunk: unknown) => {
        lines.push(
          `stdio ${typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString()}`,
        );
        return true;
      };
      process.stdout.write = capture as typeof process.stdout.write;
      process.stderr.write = capture as typeof process.stderr.write;
      const app = await sample({}, new CapturingLogger());
      const http = app.getHttpServer();
      const auth = { Authorization: `Bearer ${STATS_TOKEN}` };
      try {
        const alice = (await login(app, 'alice')).cookie;
        const bob = (await login(app, 'bob')).cookie;
        for (const cookie of [alice, bob, undefined]) {
          const body = { prompt: prompt(), user: marker('USERFIELD') };
          await generate(app, body, cookie).expect(200);
          await generate(app, body, cookie).expect(200);
          await generate(
            app,
            { messages: [{ role: 'user', content: prompt() }], stream: true },
            cookie,
          );
        }
        await generate(app, { prompt: prompt() }).set('Cache-Control', 'no-store').expect(200);
        await request(http)
          .post('/llm/generate')
          .set('Content-Type', 'application/json')
          .send(`{"model":"m","prompt":"${prompt()}`);
        await profile(app, alice).expect(200);
        await request(http).get('/auth/sessions').set(HTTPS).set('Cookie', alice).expect(200);
        await request(http).get('/stats').set(auth).expect(200);
        await request(http).get('/stats/metrics').set(auth);
        await request(http).post('/auth/logout').set(HTTPS).set('Cookie', bob).expect(200);

        const before = lines.length;
        await server.stop();
        await generate(app, { prompt: prompt() }, alice).timeout(5000);
        await generate(app, { prompt: prompt() }).timeout(5000);
        await profile(app, alice).timeout(5000);
        await request(http)
          .post('/auth/login')
          .set(HTTPS)
          .send({ username: 'bob', password: 'builder' })
          .timeout(5000);
        await request(http).get('/stats').set(auth).timeout(5000);
        outageLines = lines.length - before;

        await server.restart();
        await untilReady(app.get<RedisConnection>(REDIS_CLIENT));
        await generate(app, { prompt: prompt() }, alice).expect(200);
        await login(app, 'alice');
      } finally {
        await app.close();
        process.stdout.write = writes.out;
        process.stderr.write = writes.err;
      }
    });

    /** Every form a session id takes: the id, its secret part, the cookie value and its signature. */
    function sessionSecrets(): string[] {
      return [...issuedIds].flatMap((id) => [id, id.split('.')[1]!]);
    }

    it('the run logged, Redis failures included (the scans below are not vacuous)', () => {
      expect(lines.length).toBeGreaterThan(0);
      expect(outageLines).toBeGreaterThan(0);
      expect(prompts.size).toBeGreaterThanOrEqual(10); // the run alone sends 11
      expect(issuedIds.size).toBeGreaterThanOrEqual(3); // the run alone logs in 3 times
    });

    it('no prompt text in any Redis key', async () => {
      const keys = (await allKeys()).join('\n');
      expect(keys.length).toBeGreaterThan(0);
      for (const text of prompts) expect(keys).not.toContain(text.split(' ')[2]!);
      expect(keys).not.toMatch(/Secret prompt|diagnosis|USERFIELD/);
    });

    it('no session id or user id in any Redis key', async () => {
      const keys = (await allKeys()).join('\n');
      for (const secret of sessionSecrets()) expect(keys).not.toContain(secret);
      expect(keys).not.toMatch(/u-alice|u-bob|alice|bob/);
    });

    it('no client address in any Redis key (throttling trackers are hashed)', async () => {
      const keys = await allKeys();
      expect(keys.some((key) => key.startsWith('rl-'))).toBe(true); // the limits did count
      expect(keys.join('\n')).not.toMatch(/127\.0\.0\.1|::1|::ffff/);
    });

    it('no prompt text in any log line', () => {
      const log = lines.join('\n');
      for (const text of prompts) expect(log).not.toContain(text.split(' ')[2]!);
      expect(log).not.toMatch(/Secret prompt|diagnosis|USERFIELD/);
    });

    it('session id not logged', () => {
      const log = lines.join('\n');
      for (const secret of sessionSecrets()) expect(log).not.toContain(secret);
      for (const id of issuedIds) expect(log).not.toContain(sign(id));
    });
  });
});
