import { UsageMeter } from './usage-meter';

describe('UsageMeter.facts (a streamed answer, as its LLM-call span reads it)', () => {
  it('reads an OpenAI stream: the model, the last finish reason and the reported usage', () => {
    const meter = new UsageMeter();
    const chunk = (delta: object, finish: string | null, extra: object = {}) => ({
      object: 'chat.completion.chunk',
      model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    });
    meter.add(chunk({ content: 'Hi' }, null));
    meter.add(chunk({}, 'length'));
    meter.add({
      ...chunk({}, null),
      choices: [],
      usage: { prompt_tokens: 8, completion_tokens: 4 },
    });
    expect(meter.facts()).toEqual({
      model: 'gpt-4o-mini-2024-07-18',
      finishReasons: ['length'],
      usage: { inputTokens: 8, cachedInputTokens: 0, outputTokens: 4, estimated: false },
    });
  });

  it("reads an Anthropic stream: message_start's model, message_delta's stop reason", () => {
    const meter = new UsageMeter();
    meter.add({
      type: 'message_start',
      message: { model: 'claude-haiku-4-5', usage: { input_tokens: 12, output_tokens: 1 } },
    });
    meter.add({ type: 'content_block_delta', delta: { type: 'text_delta', text: 'Hello' } });
    meter.add({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn' },
      usage: { output_tokens: 5 },
    });
    expect(meter.facts()).toMatchObject({
      model: 'claude-haiku-4-5',
      finishReasons: ['stop'],
      usage: { inputTokens: 12, outputTokens: 5 },
    });
  });

  it('reports no usage it did not read (the budget estimate is not a span attribute)', () => {
    const meter = new UsageMeter();
    meter.add('data: {"choices":[{"delta":{"content":"text only"}}]}\n\n');
    expect(meter.facts()).toEqual({ model: undefined, finishReasons: undefined, usage: undefined });
  });
});
