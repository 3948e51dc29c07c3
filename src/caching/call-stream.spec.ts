import { CallStream } from './call-stream';

async function* chunks(n: number) {
  for (let i = 0; i < n; i++) yield { i };
}
const read = async <T>(stream: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
};

describe('CallStream', () => {
  it('is iterable once, like the SDK streams', async () => {
    const stream = new CallStream(() => chunks(2)[Symbol.asyncIterator]());
    expect(await read(stream)).toEqual([{ i: 0 }, { i: 1 }]);
    expect(() => stream[Symbol.asyncIterator]()).toThrow(/consumed/);
  });

  it('tee() gives two streams of every chunk, reading the source once', async () => {
    let opened = 0;
    const stream = new CallStream(() => {
      opened++;
      return chunks(3)[Symbol.asyncIterator]();
    });
    const [a, b] = stream.tee();
    expect(await read(a)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(await read(b)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(opened).toBe(1);
  });

  it('tee() read by both branches at once gives each branch every chunk in order, the last one included', async () => {
    async function* ticking() {
      for (let i = 0; i < 4; i++) {
        await Promise.resolve();
        yield { i };
      }
    }
    const [a, b] = new CallStream(() => ticking()[Symbol.asyncIterator]()).tee();
    const all = [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }];
    expect(await Promise.all([read(a), read(b)])).toEqual([all, all]);
  });
});
