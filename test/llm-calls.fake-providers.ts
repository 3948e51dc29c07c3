import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;

/**
 * A local stand-in for the OpenAI and Anthropic HTTP APIs (plain node http, the providers'
 * JSON and SSE): `/v1/chat/completions`, `/v1/responses`, `/v1/messages`. The answer text is
 * a function of the request body; `requests` counts what reached it. `delayMs` holds every
 * answer back, so concurrent callers overlap.
 */
export class FakeProviders {
  requests = 0;
  delayMs = 0;
  /** The paths of the requests, in order. */
  readonly paths: string[] = [];
  private server?: Server;

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    this.requests++;
    this.paths.push(req.url ?? '');
    const body = JSON.parse(raw || '{}') as Json;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (raw.includes('upstream-500')) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'simulated failure', type: 'server_error' } }));
      return;
    }
    const words = answerWords(body);
    const model = typeof body.model === 'string' ? body.model : 'unknown';
    if (req.url?.endsWith('/chat/completions')) return this.chat(res, body, model, words);
    if (req.url?.endsWith('/responses')) return this.responses(res, body, model, words);
    if (req.url?.endsWith('/messages')) return this.messages(res, body, model, words);
    res.writeHead(404).end();
  }

  private chat(res: ServerResponse, body: Json, model: string, words: string[]): void {
    const usage = {
      prompt_tokens: 11,
      completion_tokens: words.length,
      total_tokens: 11 + words.length,
    };
    const base = { id: 'chatcmpl-fake', created: 1_700_000_000, model };
    if (body.stream !== true)
      return json(res, {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: words.join(' ') },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage,
      });
    const chunk = (delta: Json, finish: string | null, extra: Json = {}) => ({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      ...extra,
    });
    sse(res, [
      ...words.map((word, i) => ({
        data: chunk(i === 0 ? { role: 'assistant', content: word } : { content: ` ${word}` }, null),
      })),
      { data: chunk({}, 'stop', { usage }) },
      { data: '[DONE]' },
    ]);
  }

  private responses(res: ServerResponse, body: Json, model: string, words: string[]): void {
    const text = words.join(' ');
    const response = {
      id: 'resp_fake',
      object: 'response',
      created_at: 1_700_000_000,
      model,
      status: 'completed',
      output: [
        {
          id: 'msg_fake',
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text, annotations: [] }],
        },
      ],
      usage: { input_tokens: 9, output_tokens: words.length, total_tokens: 9 + words.length },
    };
    if (body.stream !== true) return json(res, response);
    let seq = 0;
    const event = (type: string, data: Json) => ({
      event: type,
      data: { type, sequence_number: seq++, ...data },
    });
    sse(res, [
      event('response.created', { response: { ...response, status: 'in_progress', output: [] } }),
      ...words.map((word, i) =>
        event('response.output_text.delta', {
          item_id: 'msg_fake',
          output_index: 0,
          content_index: 0,
          delta: i === 0 ? word : ` ${word}`,
        }),
      ),
      event('response.completed', { response }),
    ]);
  }

  private messages(res: ServerResponse, body: Json, model: string, words: string[]): void {
    const text = words.join(' ');
    const message = {
      id: 'msg_fake',
      type: 'message',
      role: 'assistant',
      model,
      stop_sequence: null,
    };
    if (body.stream !== true)
      return json(res, {
        ...message,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 13, output_tokens: words.length },
      });
    sse(res, [
      {
        event: 'message_start',
        data: {
          type: 'message_start',
          message: {
            ...message,
            content: [],
            stop_reason: null,
            usage: { input_tokens: 13, output_tokens: 1 },
          },
        },
      },
      {
        event: 'content_block_start',
        data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      },
      { event: 'ping', data: { type: 'ping' } },
      ...words.map((word, i) => ({
        event: 'content_block_delta',
        data: {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'text_delta', text: i === 0 ? word : ` ${word}` },
        },
      })),
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
      {
        event: 'message_delta',
        data: {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: words.length },
        },
      },
      { event: 'message_stop', data: { type: 'message_stop' } },
    ]);
  }
}

/** Three to six words, a function of the body's prompt (not of `stream`). */
function answerWords(body: Json): string[] {
  const { stream: _stream, stream_options: _options, ...rest } = body;
  const seed = createHash('sha256')
    .update(JSON.stringify(rest.messages ?? rest.input ?? rest))
    .digest('hex');
  const vocabulary = ['alpha', 'beta', 'gamma', 'delta', 'kappa', 'sigma', 'omega', 'zeta'];
  const length = 3 + (parseInt(seed.slice(0, 2), 16) % 4);
  return Array.from(
    { length },
    (_, i) => vocabulary[parseInt(seed.slice(2 + i * 2, 4 + i * 2), 16) % 8]!,
  );
}

function json(res: ServerResponse, body: unknown): void {
  res
    .writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_fake' })
    .end(JSON.stringify(body));
}

function sse(res: ServerResponse, events: { event?: string; data: unknown }[]): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'request-id': 'req_fake',
  });
  for (const { event, data } of events)
    res.write(
      `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
    );
  res.end();
}
