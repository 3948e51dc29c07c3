import { HttpException } from '@nestjs/common';
import {
  errorType,
  inputMessages,
  outputMessages,
  requestAttributes,
  responseAttributes,
  responseFacts,
  spanName,
} from './genai-attributes';

describe('GenAI attributes', () => {
  it.each([
    [{ $api: 'openai.chat', model: 'gpt-4o-mini', max_tokens: 5 }, 'openai', 5],
    [{ $api: 'openai.responses', model: 'gpt-4o', max_output_tokens: 7 }, 'openai', 7],
    [{ $api: 'anthropic.messages', model: 'claude-sonnet-4-5', max_tokens: 9 }, 'anthropic', 9],
    [
      { $api: 'ai-sdk', provider: 'google.generative-ai', model: 'gemini-2.5-flash' },
      'gcp.gemini',
      undefined,
    ],
    [{ model: 'gpt-4o-mini', max_completion_tokens: 3 }, 'openai', 3],
    [{ model: 'claude-haiku-4-5' }, 'anthropic', undefined],
    [{ model: 'my-own-model' }, undefined, undefined],
  ])('names the provider and limits of %j', (params, provider, maxTokens) => {
    const attributes = requestAttributes(params);
    expect(attributes['gen_ai.operation.name']).toBe('chat');
    expect(attributes['gen_ai.provider.name']).toBe(provider);
    expect(attributes['gen_ai.request.max_tokens']).toBe(maxTokens);
    expect(spanName(attributes)).toBe(`chat ${params.model}`);
  });

  it('names a call without a model by its operation only', () => {
    expect(spanName(requestAttributes({ prompt: 'x' }))).toBe('chat');
  });

  it('reads usage only for a call that went upstream, cached input tokens included', () => {
    const facts = responseFacts({
      model: 'gpt-4o-mini-2024-07-18',
      choices: [{ finish_reason: 'length' }],
      usage: {
        prompt_tokens: 100,
        completion_tokens: 7,
        prompt_tokens_details: { cached_tokens: 40 },
      },
    });
    expect(responseAttributes(facts, true)).toEqual({
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.finish_reasons': ['length'],
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 7,
    });
    expect(responseAttributes(facts, false)).not.toHaveProperty('gen_ai.usage.input_tokens');
  });

  it('survives a usage hook that throws', () => {
    const facts = responseFacts({ model: 'm' }, () => {
      throw new Error('bad hook');
    });
    expect(facts).toEqual({ model: 'm', usage: undefined });
  });

  it('types an error by its HTTP status, else its class', () => {
    expect(errorType(new HttpException('no', 429))).toBe('429');
    expect(errorType(Object.assign(new Error('upstream'), { status: 503 }))).toBe('503');
    expect(errorType(new TypeError('bad'))).toBe('TypeError');
    expect(errorType('a string')).toBe('_OTHER');
  });

  it('gives a bare prompt as one user message of one text part, as the conventions shape it', () => {
    expect(JSON.parse(inputMessages({ model: 'gpt-4o-mini', prompt: 'Hello there' })!)).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'Hello there' }] },
    ]);
    expect(JSON.parse(inputMessages({ input: 'From the responses API' })!)).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'From the responses API' }] },
    ]);
    expect(inputMessages({ model: 'gpt-4o-mini' })).toBeUndefined();
  });

  it('gives request messages as role and parts: string contents and text blocks as text parts', () => {
    const image = { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } };
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'What is this?' }, image] },
    ];
    expect(JSON.parse(inputMessages({ messages })!)).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'What is this?' }, image] },
    ]);
  });

  it('gives the completion as one assistant message, nothing for an empty one', () => {
    expect(JSON.parse(outputMessages({ content: [{ type: 'text', text: 'Hi' }] })!)).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Hi' }] },
    ]);
    expect(outputMessages({ choices: [] })).toBeUndefined();
  });
});
