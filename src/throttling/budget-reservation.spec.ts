import { PriceTable } from '../llm/llm-pricing';
import { reserveFor } from './budget-reservation';

const defaults = { defaultMaxTokens: 100, defaultModel: 'gpt-4o-mini' };

describe('reserveFor', () => {
  it('estimates a body nested too deep for JSON.stringify instead of throwing', () => {
    // Regression found by test/fuzz-sample.e2e-spec.ts: JSON.parse accepts this body, but
    // JSON.stringify overflowed the stack in the guard and the request failed with a 500.
    const depth = 20_000;
    const content: unknown = JSON.parse(`${'['.repeat(depth)}"x"${']'.repeat(depth)}`);
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] };
    expect(() => JSON.stringify(body)).toThrow(RangeError);
    const reservation = reserveFor(body, defaults, new PriceTable());
    // About one token per four characters of its JSON text (~40 000 brackets).
    expect(reservation.promptTokens).toBeGreaterThanOrEqual(depth / 2);
    expect(reservation.promptTokens).toBeLessThan(depth);
    expect(reservation.tokens).toBe(reservation.promptTokens + 100);
  });

  it('estimates an ordinary body from its JSON text', () => {
    const messages = [{ role: 'user', content: 'Hello there' }];
    const reservation = reserveFor(
      { model: 'm', messages, max_tokens: 5 },
      defaults,
      new PriceTable(),
    );
    expect(reservation.promptTokens).toBe(Math.ceil(JSON.stringify(messages).length / 4));
    expect(reservation.tokens).toBe(reservation.promptTokens + 5);
  });
});
