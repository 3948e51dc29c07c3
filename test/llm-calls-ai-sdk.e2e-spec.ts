import { createOpenAI } from '@ai-sdk/openai';
import type { INestApplication } from '@nestjs/common';
import { generateText, streamText, wrapLanguageModel, type LanguageModel } from 'ai';
import { LlmCacheService, LlmCallService, llmCallsMiddleware, runAs } from '../src';
import { FakeProviders } from './llm-calls.fake-providers';
import { startLlmCallsApp } from './llm-calls.test-app';

type V3Model = Exclude<LanguageModel, string>;

describe('llmCallsMiddleware (real ai + @ai-sdk/openai against a fake OpenAI server)', () => {
  let fake: FakeProviders;
  let app: INestApplication;
  let model: V3Model;

  beforeAll(async () => {
    fake = await new FakeProviders().start();
    app = await startLlmCallsApp(fake.baseUrl);
    const provider = createOpenAI({ apiKey: 'sk-test', baseURL: `${fake.baseUrl}/v1` });
    model = wrapLanguageModel({
      model: provider.chat('gpt-4o-mini'),
      middleware: llmCallsMiddleware(app.get(LlmCallService), { name: 'spec.ai-sdk' }),
    });
  });
  afterAll(async () => {
    await app.close();
    await fake.stop();
  });
  beforeEach(() => {
    fake.requests = 0;
    fake.delayMs = 0;
  });

  const asUser = <T>(fn: () => Promise<T>): Promise<T> => runAs({ userId: 'ai-user' }, fn);

  it('answers a second identical generateText from the cache, with no upstream request', async () => {
    const first = await asUser(() =>
      generateText({ model, prompt: 'generate twice', maxRetries: 0 }),
    );
    const second = await asUser(() =>
      generateText({ model, prompt: 'generate twice', maxRetries: 0 }),
    );
    expect(fake.requests).toBe(1);
    expect(second.text).toBe(first.text);
    expect(second.text).toBeTruthy();
    expect(second.usage.outputTokens).toBe(first.usage.outputTokens);
  });

  it('replays a streamed call as the same stream parts, with no upstream request', async () => {
    const params = {
      prompt: [
        { role: 'user' as const, content: [{ type: 'text' as const, text: 'parts twice' }] },
      ],
    };
    const read = async () => {
      const { stream } = await model.doStream(params);
      const parts: unknown[] = [];
      for await (const part of stream as unknown as AsyncIterable<unknown>) parts.push(part);
      return parts;
    };
    const original = await asUser(read);
    const replayed = await asUser(read);
    expect(fake.requests).toBe(1);
    expect(original.map((p) => (p as { type: string }).type)).toContain('finish');
    expect(replayed).toEqual(original);
  });

  it('streams the same text through streamText on a hit', async () => {
    const run = () =>
      asUser(async () => {
        const result = streamText({ model, prompt: 'stream text twice', maxRetries: 0 });
        let text = '';
        for await (const delta of result.textStream) text += delta;
        return text;
      });
    const first = await run();
    const second = await run();
    expect(fake.requests).toBe(1);
    expect(second).toBe(first);
    expect(first).toBeTruthy();
  });

  it('makes one upstream request for 10 concurrent identical generateText calls', async () => {
    fake.delayMs = 150;
    const answers = await asUser(() =>
      Promise.all(
        Array.from({ length: 10 }, () =>
          generateText({ model, prompt: 'ten at once', maxRetries: 0 }),
        ),
      ),
    );
    expect(fake.requests).toBe(1);
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
  });

  it('partitions by user and shows the call site in the stats', async () => {
    await runAs({ userId: 'x' }, () => generateText({ model, prompt: 'per user', maxRetries: 0 }));
    await runAs({ userId: 'y' }, () => generateText({ model, prompt: 'per user', maxRetries: 0 }));
    await runAs({ userId: 'x' }, () => generateText({ model, prompt: 'per user', maxRetries: 0 }));
    expect(fake.requests).toBe(2);
    const stats = await app.get(LlmCacheService).stats();
    expect(stats.bySite?.['spec.ai-sdk']?.hits).toBeGreaterThanOrEqual(1);
  });
});
