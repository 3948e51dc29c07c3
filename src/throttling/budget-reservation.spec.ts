import { PriceTable } from '../llm/llm-pricing';
import { estimateValueTokens } from '../llm/llm-usage';
import { reserveFor } from './budget-reservation';

const defaults = { defaultMaxTokens: 100, defaultModel: 'gpt-4o-mini' };

describe('reserveFor', () => {
  it('reserves for a body nested too deep for JSON.stringify instead of throwing', () => {
    // Regression found by test/fuzz-sample.e2e-spec.ts: JSON.parse accepts this body, but the
    // guard's estimate used JSON.stringify, which overflowed the stack: a 500 before the handler.
    const depth = 20_000;
    const content: unknown = JSON.parse(
      `${'['.repeat(depth)}"${'x'.repeat(400)}"${']'.repeat(depth)}`,
    );
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] };
    expect(() => JSON.stringify(body)).toThrow(RangeError);
    const reservation = reserveFor(body, defaults, new PriceTable());
    expect(reservation.promptTokens).toBe(estimateValueTokens(body.messages));
    expect(reservation.promptTokens).toBeGreaterThanOrEqual(100); // the text at the bottom counts
    expect(reservation.tokens).toBe(reservation.promptTokens + 100);
  });
});
