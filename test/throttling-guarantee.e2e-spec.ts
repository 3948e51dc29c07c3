import fc from 'fast-check';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisThrottleStore, type RedisConnection } from '../src';
import { chargeOf } from '../src/throttling/throttle-store.interface';
import { heaviestWindow } from './support/heaviest-window';
import { testConnection, uniquePrefix } from './support/test-redis';

// Real time compressed: windows of a few hundred ms, arrivals from three store instances (three
// connections, as three app instances would have) on one Redis or one cluster. Admission times
// are the store's own clock (Redis TIME, returned by the script), so the check is exact.
describe('sliding log on Redis (three instances, real time): a limit is a limit', () => {
  const connections: RedisConnection[] = [];
  let stores: RedisThrottleStore[];
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) connections.push(await testConnection());
    stores = connections.map((c) => new RedisThrottleStore(c));
  });
  afterAll(() => connections.forEach((c) => c.destroy()));

  it('never admits more than `limit` units of one tracker in any interval of `periodMs`; budget settlements keep it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 150, max: 400 }),
        fc.array(
          fc.record({
            gapMs: fc.nat({ max: 25 }),
            instance: fc.nat({ max: 2 }),
            cost: fc.integer({ min: 1, max: 4 }),
            burst: fc.integer({ min: 1, max: 4 }),
            settleTo: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
          }),
          { minLength: 5, maxLength: 40 },
        ),
        async (limit, periodMs, steps) => {
          const key = `${uniquePrefix('guarantee')}{t}:p`;
          const admitted: { at: number; amount: number }[] = [];
          let n = 0;
          for (const s of steps) {
            await sleep(s.gapMs);
            // `burst` concurrent requests, spread over the instances.
            const answers = await Promise.all(
              Array.from({ length: s.burst }, async (_, j) => {
                const id = `l${n++}`;
                const cost = Math.min(s.cost, limit);
                const store = stores[(s.instance + j) % 3]!;
                const answer = await store.consume([
                  { key, limit, periodMs, cost, lease: { id, ttlMs: 60_000 } },
                ]);
                return { id, cost, store, answer };
              }),
            );
            for (const { id, cost, store, answer } of answers) {
              if (!answer.allowed) continue;
              const at = answer.results[0]!.atMs;
              const actual = s.settleTo === undefined ? cost : Math.floor(cost * s.settleTo);
              admitted.push({ at, amount: actual });
              if (s.settleTo !== undefined)
                await store.settle([
                  {
                    charge: chargeOf(
                      { key, limit, periodMs, cost, lease: { id, ttlMs: 60_000 } },
                      answer.results[0],
                    ),
                    actual,
                  },
                ]);
            }
          }
          expect(heaviestWindow(admitted, periodMs)).toBeLessThanOrEqual(limit);
        },
      ),
      // Bounded and reproducible: a failure prints the seed and the shrunk counterexample.
      { numRuns: 6, seed: 0x6a7e },
    );
  });

  it('admits a caller that waits Retry-After (whole seconds, as the header says)', async () => {
    const key = `${uniquePrefix('retry-after')}{t}:p`;
    // A window shorter than the second the header rounds to: waiting Retry-After has a margin.
    const check = { key, limit: 2, periodMs: 800, cost: 1 };
    await stores[0]!.consume([check]);
    await stores[1]!.consume([check]);
    const rejected = await stores[2]!.consume([check]);
    expect(rejected.allowed).toBe(false);
    const retryAfterS = Math.ceil(rejected.results[0]!.retryAfterMs / 1000);
    expect(retryAfterS).toBe(1);
    await sleep(retryAfterS * 1000);
    expect((await stores[0]!.consume([check])).allowed).toBe(true);
  });

  it('answers a cost larger than the whole limit with Infinity (never), spending nothing', async () => {
    const key = `${uniquePrefix('never')}{t}:p`;
    const answer = await stores[0]!.consume([{ key, limit: 10, periodMs: 60_000, cost: 11 }]);
    expect(answer.results[0]!.retryAfterMs).toBe(Infinity);
    expect(
      (await stores[0]!.consume([{ key, limit: 10, periodMs: 60_000, cost: 10 }])).allowed,
    ).toBe(true);
  });
});
