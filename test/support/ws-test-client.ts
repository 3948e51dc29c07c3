// A WebSocket client for the gateway specs (the `ws` package, which @nestjs/platform-ws brings;
// no @types/ws here, so the little that is used is typed below). Every wait has a deadline.

interface Socket {
  send(data: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer) => void): void;
  on(event: 'close', listener: () => void): void;
  once(event: 'open', listener: () => void): void;
  once(event: 'error', listener: (error: Error) => void): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const WebSocket = require('ws') as new (
  url: string,
  options?: { headers?: Record<string, string> },
) => Socket;

/** A gateway's answer: `{ event, data }` (a handler's return value, or the `exception` event). */
export interface WsAnswer {
  event: string;
  data: unknown;
}

const DEADLINE_MS = 5_000;

function withDeadline<T>(promise: Promise<T>, what: string, ms = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** One connection; `ask` sends a message and resolves with the next answer. */
export class WsTestClient {
  private readonly answers: WsAnswer[] = [];
  private readonly waiting: ((answer: WsAnswer) => void)[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('message', (raw) => {
      const answer = JSON.parse(raw.toString()) as WsAnswer;
      const next = this.waiting.shift();
      if (next) next(answer);
      else this.answers.push(answer);
    });
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<WsTestClient> {
    const socket = new WebSocket(url, { headers });
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      }),
      `connecting to ${url}`,
    );
    return new WsTestClient(socket);
  }

  ask(event: string, data: unknown = {}): Promise<WsAnswer> {
    this.socket.send(JSON.stringify({ event, data }));
    const queued = this.answers.shift();
    if (queued) return Promise.resolve(queued);
    return withDeadline(
      new Promise<WsAnswer>((resolve) => this.waiting.push(resolve)),
      `the answer to "${event}"`,
    );
  }

  close(): void {
    this.socket.terminate();
  }
}
