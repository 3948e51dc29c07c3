import { PriceTable } from './llm-pricing';

describe('PriceTable', () => {
  const usage = { inputTokens: 1_000_000, cachedInputTokens: 0, outputTokens: 0, estimated: false };

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'prices %s at the unknown-model price, never an Object.prototype member',
    (model) => {
      const table = new PriceTable({}, { input: 7, output: 9 });
      expect(table.resolve(model)).toEqual({ price: { input: 7, output: 9 }, known: false });
      expect(table.cost(model, usage)).toBe(7);
    },
  );

  it('still finds exact names, dated snapshots and overrides', () => {
    const table = new PriceTable({ 'my-model': { input: 3, output: 4 } });
    expect(table.cost('my-model', usage)).toBe(3);
    expect(table.resolve('gpt-4o-mini-2024-07-18').known).toBe(true);
  });
});
