import type { CacheEntry } from './cache-entry';
import { MemoryCacheStore } from './memory-cache.store';
import { BadRequestException, BadGatewayException } from '@nestjs/common';
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

  it("does not hand a leader's own failure (a 4xx of its request) to its waiters: one of them leads next", async () => {
    const single = flight(60_000);
    const first = await single.enter('k');
    if (!('lead' in first)) throw new Error('expected to lead');
    const [a, b] = [single.join('k'), single.join('k')];
    await first.lead.fail(new BadRequestException('refused for its own caller'));
    // The first waiter enters again and leads; the second follows it, not the refusal.
    const next = await a;
    if (!('lead' in next)) throw new Error('expected the first waiter to lead');
    const upstream = new BadGatewayException('upstream down');
    await next.lead.fail(upstream);
    await expect(b).rejects.toBe(upstream);
  });

  it('hands an upstream failure of the leader to its waiters as is', async () => {
    const single = flight(60_000);
    const first = await single.enter('k');
    if (!('lead' in first)) throw new Error('expected to lead');
    const waiter = single.join('k');
    const upstream = new BadGatewayException('upstream down');
    await first.lead.fail(upstream);
    await expect(waiter).rejects.toBe(upstream);
  });

  it('enters a flight of this process only when told the store is failing (no lock asked)', async () => {
    const single = flight(60_000);
    const first = await single.enter('k', true);
    expect('lead' in first).toBe(true);
    expect('follow' in (await single.enter('k', true))).toBe(true);
  });
});
