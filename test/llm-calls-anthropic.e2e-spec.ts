import Anthropic from '@anthropic-ai/sdk';
import type { INestApplication } from '@nestjs/common';
import { LlmCacheService, LlmCallService, runAs, wrapAnthropic } from '../src';
import { FakeProviders } from './llm-calls.fake-providers';
import { collect, startLlmCallsApp } from './llm-calls.test-app';

describe('wrapAnthropic (real @anthropic-ai/sdk against a fake Anthropic server)', () => {
  let fake: FakeProviders;
  let app: INestApplication;
  let claude: Anthropic;

  beforeAll(async () => {
    fake = await new FakeProviders().start();
    app = await startLlmCallsApp(fake.baseUrl);
    claude = wrapAnthropic(
      new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.baseUrl, maxRetries: 0 }),
      app.get(LlmCallService),
      { name: 'spec.anthropic' },
    );
  });
  afterAll(async () => {
    await app.close();
    await fake.stop();
  });
  beforeEach(() => {
    fake.requests = 0;
    fake.delayMs = 0;
  });

  const body = (content: string) => ({
    model: 'claude-haiku-4-5',
    max_tokens: 256,
    messages: [{ role: 'user' as const, content }],
  });
  const asUser = <T>(fn: () => Promise<T>): Promise<T> => runAs({ userId: 'u1' }, fn);

  it('answers a second identical messages.create from the cache, with no upstream request', async () => {
    const first = await asUser(() => claude.messages.create(body('json twice')));
    const second = await asUser(() => claude.messages.create(body('json twice')));
    expect(fake.requests).toBe(1);
    expect(second).toEqual(JSON.parse(JSON.stringify(first)));
    expect(second.content[0]).toMatchObject({ type: 'text' });
  });

  it('replays messages.create({ stream: true }) as the same events, with no upstream request', async () => {
    const params = { ...body('stream twice'), stream: true as const };
    const original = await collect(await asUser(() => claude.messages.create(params)));
    const replayed = await collect(await asUser(() => claude.messages.create(params)));
    expect(fake.requests).toBe(1);
    expect(original.map((e) => (e as { type: string }).type)).toContain('message_stop');
    expect(replayed).toEqual(original);
  });

  it("serves messages.stream() from the cache through the SDK's own MessageStream", async () => {
    const texts: string[] = [];
    const firstMessage = await asUser(async () => {
      const first = claude.messages.stream(body('message stream'));
      first.on('text', (delta) => texts.push(delta));
      return first.finalMessage();
    });
    const second = await asUser(async () =>
      claude.messages.stream(body('message stream')).finalMessage(),
    );
    expect(fake.requests).toBe(1);
    expect(second.content).toEqual(firstMessage.content);
    expect(second.usage.output_tokens).toBe(firstMessage.usage.output_tokens);
    expect(texts.join('')).toBe((firstMessage.content[0] as { text: string }).text);
  });

  it('makes one upstream request for 10 concurrent identical calls', async () => {
    fake.delayMs = 150;
    const answers = await asUser(() =>
      Promise.all(Array.from({ length: 10 }, () => claude.messages.create(body('ten at once')))),
    );
    expect(fake.requests).toBe(1);
    expect(new Set(answers.map((a) => JSON.stringify(a.content))).size).toBe(1);
  });

  it('partitions by user: the same call for another user goes upstream', async () => {
    await runAs({ userId: 'p1' }, () => claude.messages.create(body('partitioned')));
    await runAs({ userId: 'p1' }, () => claude.messages.create(body('partitioned')));
    await runAs({ userId: 'p2' }, () => claude.messages.create(body('partitioned')));
    expect(fake.requests).toBe(2);
  });

  it('shows the call site in the cache stats', async () => {
    await asUser(() => claude.messages.create(body('stats')));
    await asUser(() => claude.messages.create(body('stats')));
    const stats = await app.get(LlmCacheService).stats();
    expect(stats.bySite?.['spec.anthropic']?.hits).toBeGreaterThanOrEqual(1);
    expect(stats.bySite?.['spec.anthropic']?.savingsUsd).toBeGreaterThan(0);
  });
});
