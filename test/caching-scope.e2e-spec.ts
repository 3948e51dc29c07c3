import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { Calls, Hooks, startCachingTestApp } from './support/caching-test-app';
import { countFlightJoins } from './support/flight-joins';
import { testRedisOptions, uniquePrefix } from './support/test-redis';
import { until } from './support/until';

describe.each([
  ['memory', undefined],
  ['Redis', 'redis'],
])('CachingModule scopes and what is never cached (%s)', (_, redis) => {
  let app: INestApplication;
  beforeEach(async () => {
    app = await startCachingTestApp(
      { keyPrefix: uniquePrefix('cache-scope') },
      redis ? testRedisOptions() : undefined,
    );
  });
  afterEach(() => app.close());

  const post = (path: string, prompt: string, user?: string) => {
    const req = request(app.getHttpServer()).post(path);
    if (user) req.set('x-user', user);
    return req.send({ model: 'gpt-4o-mini', prompt });
  };

  it("with scope 'user', user B never receives user A's entry", async () => {
    const a1 = await post('/user-scope', 'same', 'alice');
    const b1 = await post('/user-scope', 'same', 'bob');
    const a2 = await post('/user-scope', 'same', 'alice');
    expect([a1.headers['x-cache'], b1.headers['x-cache'], a2.headers['x-cache']]).toEqual([
      'MISS',
      'MISS',
      'HIT',
    ]);
    expect(b1.body.choices[0].message.content).toBe('same for bob');
    expect(a2.body.choices[0].message.content).toBe('same for alice');
    // No user with scope 'user': not cached at all.
    expect((await post('/user-scope', 'same')).headers['x-cache']).toBe('BYPASS');
    expect((await post('/user-scope', 'same')).headers['x-cache']).toBe('BYPASS');
  });

  it('by default keeps users apart and anonymous callers apart from users', async () => {
    await post('/default-scope', 'q', 'alice');
    const bob = await post('/default-scope', 'q', 'bob');
    const anon = await post('/default-scope', 'q');
    const anon2 = await post('/default-scope', 'q');
    expect(bob.headers['x-cache']).toBe('MISS');
    expect(bob.body.choices[0].message.content).toBe('q for bob');
    expect(anon.headers['x-cache']).toBe('MISS');
    expect(anon.body.choices[0].message.content).toBe('q for anonymous');
    expect(anon2.headers['x-cache']).toBe('HIT');
    expect(app.get(Calls).count).toBe(3);
  });

  it("does not put a user's answer in the anonymous partition when auth runs after the probe", async () => {
    const alice = await request(app.getHttpServer())
      .post('/late-user')
      .set('x-late-user', 'alice')
      .send({ model: 'gpt-4o-mini', prompt: 'late' });
    expect(alice.body.choices[0].message.content).toBe('late for alice');
    const anonymous = await post('/late-user', 'late');
    expect(anonymous.headers['x-cache']).toBe('MISS');
    expect(anonymous.body.choices[0].message.content).toBe('late for anonymous');
    const aliceAgain = await request(app.getHttpServer())
      .post('/late-user')
      .set('x-late-user', 'alice')
      .send({ model: 'gpt-4o-mini', prompt: 'late' });
    expect(aliceAgain.headers['x-cache']).toBe('HIT');
    expect(aliceAgain.body.choices[0].message.content).toBe('late for alice');
  });

  it("shares a 'global' route's entry between users", async () => {
    await post('/global-scope', 'g', 'alice');
    expect((await post('/global-scope', 'g', 'bob')).headers['x-cache']).toBe('HIT');
  });

  it.each([
    ['a handler that throws (upstream 500)', '/throws', 502],
    ['a non-2xx status', '/status-500', 500],
    ['empty output', '/empty', 200],
    ['a response cacheIf rejects', '/filtered', 200],
  ])('leaves no entry for %s', async (_, path, status) => {
    const prompt = path === '/filtered' ? 'nocache please' : 'x';
    expect((await post(path, prompt)).status).toBe(status);
    const again = await post(path, prompt);
    expect(again.status).toBe(status);
    expect(again.headers['x-cache']).toBe('MISS');
    expect(app.get(Calls).count).toBe(2);
  });

  it("hands a failed leader's error to its waiters at once (one upstream call)", async () => {
    // The leader fails only once all ten requests are in its flight: a request that reached the
    // cache after the failure would rightly lead a flight of its own (failures are not cached),
    // and under load the ten can arrive further apart than any fixed upstream delay.
    const joins = countFlightJoins(app);
    app.get(Hooks).beforeThrow = () => until(() => joins.count === 10, 'the ten requests to join');
    try {
      const responses = await Promise.all(Array.from({ length: 10 }, () => post('/throws', 'x')));
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(502));
      expect(app.get(Calls).count).toBe(1);
    } finally {
      joins.restore();
    }
  });
});

describe('CachingModule with an Observable stream', () => {
  it('sends an Observable of MessageEvents as SSE, stores it, and replays it (recorded pace) or answers JSON', async () => {
    const app = await startCachingTestApp({ keyPrefix: uniquePrefix('cache-obs') });
    try {
      const stream = () =>
        request(app.getHttpServer())
          .post('/observable')
          .set('accept', 'text/event-stream')
          .send({ model: 'gpt-4o-mini', prompt: 'hello' })
          .buffer(true)
          .parse((res, done) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => done(null, text));
          });
      const miss = await stream();
      const hit = await stream();
      expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
      expect(hit.body).toBe(miss.body);
      expect(String(miss.body)).toContain('"content":"hello"');
      const json = await request(app.getHttpServer())
        .post('/observable')
        .send({ model: 'gpt-4o-mini', prompt: 'hello' });
      expect(json.headers['x-cache']).toBe('HIT');
      expect(json.body.choices[0].message.content).toBe('hello done');
      expect(app.get(Calls).count).toBe(1);
    } finally {
      await app.close();
    }
  });
});
