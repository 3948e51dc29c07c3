import { BatchedCounters, type CounterBatch } from './batched-counters';
import { LogThrottle } from './log-throttle';

type G = 'sum' | 'last';
const snapshot = (batch: CounterBatch<G>) => ({
  sum: Object.fromEntries(batch.sum),
  last: Object.fromEntries(batch.last),
});

function counters(write: (batch: CounterBatch<G>) => Promise<unknown>, maxFields = 3) {
  const warnings: string[] = [];
  const warn = new LogThrottle({ warn: (message: string) => warnings.push(message) }, 0);
  const batched = new BatchedCounters<G>({
    groups: { sum: { maxFields }, last: { merge: 'replace' } },
    write,
    intervalMs: 60_000,
    timeoutMs: 1000,
    what: 'test stats',
    warn,
  });
  return { batched, warnings };
}

describe('BatchedCounters', () => {
  it('writes sums and newest values in one batch, then nothing until more comes', async () => {
    const writes: ReturnType<typeof snapshot>[] = [];
    const { batched } = counters(async (batch) => writes.push(snapshot(batch)));
    batched.add('sum', 'a', 1);
    batched.add('sum', 'a', 2);
    batched.add('sum', 'nan', Number.NaN);
    batched.add('last', 'h', 5);
    batched.add('last', 'h', 7);
    expect(await batched.flush()).toBe(true);
    expect(await batched.flush()).toBe(true);
    expect(writes).toEqual([{ sum: { a: 3 }, last: { h: 7 } }]);
  });

  it('puts a failed batch back under what came since, and says so once', async () => {
    let fail = true;
    const writes: ReturnType<typeof snapshot>[] = [];
    const { batched, warnings } = counters(async (batch) => {
      if (fail) throw new Error('down');
      writes.push(snapshot(batch));
    });
    batched.add('sum', 'a', 1);
    batched.add('last', 'h', 1);
    expect(await batched.flush()).toBe(false);
    batched.add('sum', 'a', 1);
    batched.add('last', 'h', 2);
    fail = false;
    expect(await batched.flush()).toBe(true);
    expect(writes).toEqual([{ sum: { a: 2 }, last: { h: 2 } }]);
    expect(warnings).toEqual(['test stats not written: down; kept for the next flush']);
  });

  it('keeps at most maxFields distinct fields of a group pending (new ones are dropped)', async () => {
    const writes: ReturnType<typeof snapshot>[] = [];
    const { batched } = counters(async (batch) => writes.push(snapshot(batch)));
    for (const field of ['a', 'b', 'c', 'd', 'a']) batched.add('sum', field, 1);
    await batched.flush();
    expect(writes).toEqual([{ sum: { a: 2, b: 1, c: 1 }, last: {} }]);
  });

  it('without a writer, the fields are the totals', () => {
    const batched = new BatchedCounters<'sum'>({
      groups: { sum: {} },
      intervalMs: 10,
      timeoutMs: 10,
      what: 'memory stats',
      warn: new LogThrottle({ warn: () => undefined }),
    });
    batched.add('sum', '__proto__', 2);
    expect([...batched.fields('sum')]).toEqual([['__proto__', 2]]);
  });
});
