import { estimateTokens, estimateValueTokens, readUsage } from './llm-usage';

describe('llm usage', () => {
  it('reads OpenAI, Anthropic and Gemini usage, cached prompt tokens apart', () => {
    expect(
      readUsage({
        usage: {
          prompt_tokens: 100,
          completion_tokens: 20,
          prompt_tokens_details: { cached_tokens: 40 },
        },
      }),
    ).toEqual({ inputTokens: 60, cachedInputTokens: 40, outputTokens: 20, estimated: false });
    expect(
      readUsage({ usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 30 } }),
    ).toEqual({ inputTokens: 10, cachedInputTokens: 30, outputTokens: 5, estimated: false });
    expect(
      readUsage({
        usageMetadata: {
          promptTokenCount: 50,
          candidatesTokenCount: 7,
          cachedContentTokenCount: 20,
        },
      }),
    ).toEqual({ inputTokens: 30, cachedInputTokens: 20, outputTokens: 7, estimated: false });
    expect(readUsage({ choices: [] })).toBeUndefined();
  });

  it('estimates a value from the characters of its strings and keys, like the text itself', () => {
    const messages = [{ role: 'user', content: 'x'.repeat(400) }];
    expect(estimateValueTokens(messages)).toBe(
      estimateTokens('role' + 'user' + 'content' + 'x'.repeat(400)),
    );
    expect(estimateValueTokens('abcd')).toBe(1);
  });

  it('estimates a value nested far deeper than JSON.stringify can go, without throwing', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(estimateValueTokens(deep)).toBe(2);
  });
});
