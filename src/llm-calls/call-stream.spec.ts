import { assembleMessageStream } from './anthropic.wrapper';
import { CallStream } from './call-stream';
import { assembleResponsesStream } from './openai.wrapper';
import { checkIdentity } from './request-context';
import { checkSiteName } from './call-site';

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
