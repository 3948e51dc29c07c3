import { checkSiteName } from '../caching/call-site';
import { assembleMessageStream } from './anthropic.wrapper';
import { assembleResponsesStream } from './openai.wrapper';
import { checkIdentity } from './request-context';

describe('stream assembly', () => {
  it('adds an Anthropic event stream up to its Message (text, stop reason, usage)', () => {
    const message = assembleMessageStream([
      {
        type: 'message_start',
        message: {
          id: 'm',
          model: 'claude-haiku-4-5',
          usage: { input_tokens: 5, output_tokens: 1 },
        },
      },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' there' } },
      { type: 'message_delta', delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 7 } },
    ]);
    expect(message).toMatchObject({
      id: 'm',
      content: [{ type: 'text', text: 'Hello there' }],
      stop_reason: 'max_tokens',
      usage: { input_tokens: 5, output_tokens: 7 },
    });
  });

  it('takes the completed Responses API response, with output_text from the deltas', () => {
    const response = assembleResponsesStream([
      { type: 'response.output_text.delta', delta: 'Hi' },
      { type: 'response.output_text.delta', delta: '!' },
      {
        type: 'response.completed',
        response: { id: 'r', status: 'completed', usage: { input_tokens: 3, output_tokens: 2 } },
      },
    ]);
    expect(response).toEqual({
      id: 'r',
      status: 'completed',
      usage: { input_tokens: 3, output_tokens: 2 },
      output_text: 'Hi!',
    });
    expect(assembleResponsesStream([{ type: 'response.output_text.delta', delta: 'cut' }])).toEqual(
      {
        output_text: 'cut',
        status: 'incomplete',
      },
    );
  });
});

describe('input checks', () => {
  it('refuses an identity that names nobody and a call-site name that cannot be a stats field', () => {
    expect(() => checkIdentity({ userId: '' })).toThrow(/userId/);
    expect(() => checkIdentity({} as never)).toThrow(/scope: 'global'/);
    expect(() => checkSiteName('a|b')).toThrow(/call-site name/);
    expect(checkSiteName('agent.plan')).toBe('agent.plan');
  });
});
