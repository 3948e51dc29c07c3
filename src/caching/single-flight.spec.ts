import type { CacheEntry } from './cache-entry';
import { MemoryCacheStore } from './memory-cache.store';
import { FlightAbandonedError, SingleFlight } from './single-flight';
import { TieredCacheStore } from './tiered-cache.store';

const flight = (waitTimeoutMs: number, lockTtlMs = 60_000) =>
  new SingleFlight(new TieredCacheStore(new MemoryCacheStore(10, 1 << 20), undefined, 0), {
    waitTimeoutMs,
    lockTtlMs,
    pollIntervalMs: 25,
  });

async function follower(
  single: SingleFlight,
  hash: string,
): Promise<{ wait: Promise<CacheEntry> }> {
  const entered = await single.enter(hash);
  if (!('follow' in entered)) throw new Error('expected to follow');
  return { wait: entered.follow };
}

describe('SingleFlight', () => {
  it('gives a waiter up within waitTimeoutMs when the leader never settles', async () => {
    const single = flight(200);
    const leader = await single.enter('k');
    expect('lead' in leader).toBe(true);
    expect(single.has('k')).toBe(true);
    const started = Date.now();
    await expect((await follower(single, 'k')).wait).rejects.toBeInstanceOf(FlightAbandonedError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('frees the key of a leader that never settles after lockTtlMs', async () => {
    const single = flight(60_000, 100);
    await single.enter('k');
    const { wait: waiting } = await follower(single, 'k');
    await expect(waiting).rejects.toBeInstanceOf(FlightAbandonedError);
    expect(single.has('k')).toBe(false);
    expect('lead' in (await single.enter('k'))).toBe(true);
  });

  it('releases every waiter at once on close()', async () => {
    const single = flight(60_000);
    await single.enter('k');
    const { wait: waiting } = await follower(single, 'k');
    single.close();
    await expect(waiting).rejects.toBeInstanceOf(FlightAbandonedError);
    expect(single.inFlight).toBe(0);
  });
});
