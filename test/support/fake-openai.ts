import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** The text the fake model answers to a prompt (several words, so a stream has several chunks). */
export const fakeAnswer = (prompt: string): string => `You said: ${prompt}. Nothing else to add.`;

/**
 * A local OpenAI-compatible `/v1/chat/completions` (JSON and SSE, as api.openai.com sends
 * them), for specs that run the real `openai` SDK against it. Counts calls; `latencyMs`
 * holds every answer before its first byte.
 */
export class FakeOpenAi {
  calls = 0;
  latencyMs = 0;
  /** Line ending of the SSE answers (`\r\n` is as valid as `\n`, and one data field may span lines). */
  eol: '\n' | '\r\n' = '\n';
  /** Answer the next calls with this HTTP status (an upstream outage). */
  failWith: number | undefined;
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<FakeOpenAi> {
    const server = http.createServer();
    const fake = new FakeOpenAi(server);
    server.on('request', (req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get baseURL(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    this.calls++;
    const body = JSON.parse(raw) as {
      model: string;
      messages: { content: string }[];
      stream?: boolean;
    };
    await delay(this.latencyMs);
    if (this.failWith !== undefined) {
      res.writeHead(this.failWith, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'upstream down', type: 'server_error' } }));
      return;
    }
    const text = fakeAnswer(body.messages.at(-1)?.content ?? '');
    const base = { id: 'chatcmpl-fake', created: 1_700_000_000, model: body.model };
    const usage = { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 };
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: text },
              finish_reason: 'stop',
            },
          ],
          usage,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (choices: unknown[], extra: object = {}): void => {
      // Pretty-printed under CRLF: a data field over several lines, joined with "\n" by a parser.
      const json = JSON.stringify(
        { ...base, object: 'chat.completion.chunk', choices, ...extra },
        null,
        this.eol === '\n' ? undefined : 1,
      );
      res.write(
        `${json
          .split('\n')
          .map((line) => `data: ${line}`)
          .join(this.eol)}${this.eol}${this.eol}`,
      );
    };
    for (const [i, word] of text.split(' ').entries()) {
      send([{ index: 0, delta: { content: i === 0 ? word : ` ${word}` }, finish_reason: null }]);
      await delay(1);
    }
    send([{ index: 0, delta: {}, finish_reason: 'stop' }], { usage });
    res.end(`data: [DONE]${this.eol}${this.eol}`);
  }
}
