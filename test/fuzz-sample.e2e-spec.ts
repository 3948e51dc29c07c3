import { createHmac, randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import request from 'supertest';
import { relaxedThrottling, startSampleApp } from './support/sample-app';
import {
  inspectClient,
  type RedisInspector,
  sampleRedis,
  uniquePrefix,
} from './support/test-redis';
import { sessionCookie, TEST_SECRET } from './session-support/session-test-app';

// Bounded, reproducible runs: a failure prints the seed and the shrunk counterexample.
const RUNS = { numRuns: 150, seed: 0x5a3e };
const HTTPS = { 'X-Forwarded-Proto': 'https' };

async function sampleApp(prefix: string): Promise<INestApplication> {
  const app = await startSampleApp(
    {
      ...sampleRedis(),
      sessionSecret: TEST_SECRET,
      session: { prefix },
      caching: { keyPrefix: `${prefix}llm` },
      // Limits too high to matter, so every run reaches the handler; the guard still runs (and
      // estimates each body's tokens).
      throttling: relaxedThrottling(),
    },
    { trustProxy: 'loopback' },
  );
  return app;
}

/** A value a header can carry (visible ASCII and Latin-1, spaces, tabs). */
const headerText = (max = 200) =>
  fc.string({
    unit: fc
      .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constantFrom(0x09, 0xa0, 0xe9, 0xff))
      .map((code) => String.fromCharCode(code)),
    maxLength: max,
  });

/** Something shaped like an LLM request, with every field possibly wrong. */
const requestLike = fc.record(
  {
    model: fc.oneof(fc.string(), fc.jsonValue()),
    prompt: fc.oneof(fc.string(), fc.jsonValue()),
    messages: fc.oneof(
      fc.array(
        fc.record(
          {
            role: fc.oneof(fc.constantFrom('user', 'system'), fc.jsonValue()),
            content: fc.jsonValue(),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
      fc.jsonValue(),
    ),
    temperature: fc.oneof(fc.double(), fc.jsonValue()),
    max_tokens: fc.oneof(fc.integer(), fc.jsonValue()),
    stream: fc.oneof(fc.boolean(), fc.jsonValue()),
    provider: fc.oneof(fc.constantFrom('openai', 'simulated'), fc.jsonValue()),
    user: fc.jsonValue(),
    metadata: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

const jsonBody = fc.oneof(
  fc.oneof(fc.jsonValue({ maxDepth: 8 }), requestLike).map((v) => JSON.stringify(v) ?? 'null'),
  // "__proto__" and "constructor" as body keys, the way a client can send them.
  fc
    .tuple(fc.constantFrom('__proto__', 'constructor'), fc.jsonValue(), fc.boolean())
    .map(
      ([key, value, valid]) =>
        `{${JSON.stringify(key)}:${JSON.stringify(value)},"model":"m"${valid ? ',"prompt":"p"' : ''}}`,
    ),
  // Deep nesting, past every limit.
  fc
    .integer({ min: 30, max: 5000 })
    .map(
      (n) =>
        `{"model":"m","messages":[{"role":"user","content":${'['.repeat(n)}${']'.repeat(n)}}]}`,
    ),
);

const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'application/json; charset=bogus',
      'application/vnd.api+json',
      'text/plain',
      'text/event-stream',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      '*/*',
      ';;;',
    ),
    headerText(60),
  ),
  { nil: undefined },
);

const contentEncoding = fc.option(fc.constantFrom('identity', 'gzip', 'deflate', 'br', 'x-bogus'), {
  nil: undefined,
});

describe('sample app under fuzzing', () => {
  let redis: RedisInspector;
  const latency = process.env.LLM_LATENCY_MS;
  beforeAll(async () => {
    process.env.LLM_LATENCY_MS = '0';
    redis = await inspectClient();
  });
  afterAll(async () => {
    process.env.LLM_LATENCY_MS = latency;
    redis.close();
  });

  describe('POST /llm/generate body handling', () => {
    let app: INestApplication;
    beforeAll(async () => (app = await sampleApp(uniquePrefix('fuzz-body'))));
    afterAll(() => app.close());

    async function post(body: string | Buffer, type?: string, encoding?: string) {
      const req = request(app.getHttpServer()).post('/llm/generate');
      if (type !== undefined) req.set('Content-Type', type);
      if (encoding !== undefined) req.set('Content-Encoding', encoding);
      return req.send(body);
    }

    it('never answers 5xx to any JSON value or request-shaped object', async () => {
      const seen = new Set<number>();
      await fc.assert(
        fc.asyncProperty(jsonBody, contentType, async (body, type) => {
          const res = await post(body, type ?? 'application/json');
          seen.add(res.status);
          expect(res.status).toBeLessThan(500);
        }),
        RUNS,
      );
      // The runs reached the handler (200), the validation (400) and the cache, not only the parser.
      expect([...seen]).toEqual(expect.arrayContaining([200, 400]));
    });

    it('never answers 5xx to arbitrary bytes with any content type and encoding', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
            fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)),
            jsonBody.map((s) => Buffer.from(s.slice(0, Math.max(0, s.length - 1)))), // truncated
          ),
          contentType,
          contentEncoding,
          async (body, type, encoding) => {
            const res = await post(body, type, encoding);
            expect(res.status).toBeLessThan(500);
          },
        ),
        RUNS,
      );
    });

    it('answers 400, not 500, to a message nested 5000 levels deep (found by this spec)', async () => {
      // The throttling guard estimated the prompt with JSON.stringify, which overflows the stack
      // on a body JSON.parse accepts; see src/throttling/budget-reservation.spec.ts.
      const depth = 5000;
      const content = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const res = await post(
        `{"model":"m","messages":[{"role":"user","content":${content}}]}`,
        'application/json',
      );
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('nests deeper than');
    });

    it('still answers a valid request after the fuzzing (200)', async () => {
      const res = await post(
        JSON.stringify({ model: 'gpt-4o-mini', prompt: 'after the storm' }),
        'application/json',
      );
      expect(res.status).toBe(200);
    });
  });

  describe('session cookie parsing', () => {
    let app: INestApplication;
    let prefix: string;
    let issuedId: string;
    let issuedSignature: string;
    let keysAfterLogin: string[];

    const sign = (value: string, secret = TEST_SECRET) =>
      createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '');
    // Session data and per-user indexes (not the rate-limit counters, nor the `{stats}` counters
    // written beside requests).
    const keysNow = async () =>
      (await redis.keys(`${prefix}{*`)).filter((key) => !key.includes('{stats}')).sort();

    beforeAll(async () => {
      prefix = uniquePrefix('fuzz-cookie');
      app = await sampleApp(prefix);
      const res = await request(app.getHttpServer())
        .post('/auth/login')
        .set(HTTPS)
        .send({ username: 'alice', password: 'wonderland' })
        .expect(200);
      const value = decodeURIComponent(sessionCookie(res)!.split('=')[1]!); // s:<id>.<sig>
      issuedId = value.slice(2, value.lastIndexOf('.'));
      issuedSignature = value.slice(value.lastIndexOf('.') + 1);
      keysAfterLogin = await keysNow();
    });
    afterAll(() => app.close());

    const hex16 = fc.stringMatching(/^[0-9a-f]{16}$/);
    const b64url43 = fc.stringMatching(/^[A-Za-z0-9_-]{43}$/);
    const wellFormedId = fc.tuple(hex16, b64url43).map(([tag, rest]) => `${tag}.${rest}`);
    const otherShapeId = fc.oneof(
      headerText(80),
      fc.uuid(),
      fc.stringMatching(/^[0-9a-f]{16}\.[A-Za-z0-9_-]{0,60}$/),
      fc.constantFrom('', '.', '..', 'undefined', 'null', '[object Object]'),
    );

    /** `__Host-sid` values an attacker could send, none of them the issued cookie as issued. */
    const forgedValue = () =>
      fc.oneof(
        headerText(),
        // Well-formed ids never issued, signed with the real secret or not.
        wellFormedId.map((id) => `s:${id}.${sign(id)}`),
        fc.tuple(wellFormedId, b64url43).map(([id, sig]) => `s:${id}.${sig}`),
        // Ids of another shape, properly signed.
        otherShapeId.map((id) => `s:${id}.${sign(id)}`),
        // The issued id with a wrong signature: another secret, random, tampered, missing.
        fc.string({ minLength: 32 }).map((secret) => `s:${issuedId}.${sign(issuedId, secret)}`),
        b64url43.map((sig) => `s:${issuedId}.${sig}`),
        fc
          .tuple(fc.nat(), fc.constantFrom(...'ABCxyz019+/'))
          .map(([at, char]) => {
            const i = at % issuedSignature.length;
            const tampered = issuedSignature.slice(0, i) + char + issuedSignature.slice(i + 1);
            return `s:${issuedId}.${tampered}`;
          })
          .filter((value) => value !== `s:${issuedId}.${issuedSignature}`),
        fc.constantFrom(
          `s:${issuedId}`,
          `s:${issuedId}.`,
          issuedId,
          `${issuedId}.${issuedSignature}`,
        ),
        // The issued signature on a changed id.
        wellFormedId.map((id) => `s:${id}.${issuedSignature}`),
      );

    // Built once the cookie is issued (the arbitraries use its id and signature).
    const cookieHeader = () =>
      fc.oneof(
        headerText(300),
        forgedValue().map((v) => `__Host-sid=${encodeURIComponent(v)}`),
        forgedValue().map((v) => `__Host-sid=${v}`),
        fc
          .tuple(forgedValue(), headerText(40))
          .map(([v, other]) => `__Host-sid=${encodeURIComponent(v)}; other=${other}`),
        // The issued cookie under names the module does not read.
        fc
          .constantFrom('sid', '__host-sid', 'Host-sid', '__Secure-sid', '__Host-sid2')
          .map((name) => `${name}=${encodeURIComponent(`s:${issuedId}.${issuedSignature}`)}`),
      );

    it('never authenticates GET /profile with a forged, tampered or malformed cookie, and never creates a session key', async () => {
      await fc.assert(
        fc.asyncProperty(cookieHeader(), async (cookie) => {
          const res = await request(app.getHttpServer())
            .get('/profile')
            .set(HTTPS)
            .set('Cookie', cookie);
          expect(res.status).toBe(401);
          expect(await keysNow()).toEqual(keysAfterLogin);
        }),
        RUNS,
      );
    });

    it('still authenticates the cookie as issued (the property above is not vacuous)', async () => {
      const cookie = `__Host-sid=${encodeURIComponent(`s:${issuedId}.${issuedSignature}`)}`;
      const res = await request(app.getHttpServer())
        .get('/profile')
        .set(HTTPS)
        .set('Cookie', cookie);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe('u-alice');
      // And a random id signed with the real secret is rejected because it was never issued.
      const stranger = `${randomBytes(8).toString('hex')}.${randomBytes(32).toString('base64url')}`;
      await request(app.getHttpServer())
        .get('/profile')
        .set(HTTPS)
        .set('Cookie', `__Host-sid=${encodeURIComponent(`s:${stranger}.${sign(stranger)}`)}`)
        .expect(401);
    });
  });

  describe('rate-limit tracker behind one trusted proxy', () => {
    const LIMIT = 4;
    let app: INestApplication;
    beforeAll(async () => {
      app = await startSampleApp({
        ...sampleRedis(),
        sessionSecret: TEST_SECRET,
        // A cache of its own: a run of both platforms on one Redis sends the same prompts twice,
        // and the second run's hits (free of the limit) would let every fifth request through.
        caching: { keyPrefix: uniquePrefix('fuzz-xff-cache') },
        throttling: {
          keyPrefix: uniquePrefix('fuzz-xff'),
          trustProxy: 1,
          global: false,
          policies: { llm: { limit: LIMIT, ttlMs: 60_000 } },
          // The tracker is under test, not the deadline (throttling-redis-down checks that): past
          // the default 500 ms the 'local' policy counts in memory, and a slow reply on a loaded
          // machine would let a fifth request through.
          redisTimeoutMs: 10_000,
        },
      });
    });
    afterAll(() => app.close());

    /** What a client can write into X-Forwarded-For before the trusted proxy appends to it. */
    const spoofed = fc.oneof(
      headerText(60),
      fc.ipV4(),
      fc.ipV6(),
      fc.array(fc.ipV4(), { maxLength: 4 }).map((ips) => ips.join(', ')),
    );
    let client = 0;

    it('limits a client by the address the trusted proxy saw, however it rotates spoofed X-Forwarded-For entries', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(spoofed, { minLength: LIMIT + 1, maxLength: LIMIT + 1 }),
          async (prefixes) => {
            // A fresh client address per run (the proxy appends it), so runs do not share counters.
            client++;
            const address = `10.${(client >> 8) & 255}.${client & 255}.7`;
            const statuses: number[] = [];
            for (const prefix of prefixes) {
              const res = await request(app.getHttpServer())
                .post('/llm/generate')
                .set('X-Forwarded-For', prefix ? `${prefix}, ${address}` : address)
                // A new prompt each time: cache hits do not count against LLM limits.
                .send({ model: 'gpt-4o-mini', prompt: `${address} q${statuses.length}` });
              statuses.push(res.status);
            }
            expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
          },
        ),
        { ...RUNS, numRuns: 40 },
      );
    });
  });
});
