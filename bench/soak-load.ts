import { randomBytes } from 'node:crypto';

/** One request the soak sent. Times are `performance.now()` milliseconds. */
export interface SoakSample {
  route: string;
  status: number;
  startedAt: number;
  endedAt: number;
  cache?: string;
  /** `GET /stats` only: the sections reported unavailable. */
  unavailable?: string[];
  /** No answer at all (connection error or the client-side timeout). */
  error?: string;
  /** A 5xx answer's `message`. */
  message?: string;
}

/** How long the load waits for one answer before it calls the request hung. */
export const REQUEST_TIMEOUT_MS = 10_000;

// Repeated prompts make cache hits; every 'new' prompt is a miss.
const REPEATED = Array.from({ length: 20 }, (_, i) => `soak question number ${i}`);

/** Sends requests to the sample app and records every one of them. */
export class SoakClient {
  readonly samples: SoakSample[] = [];

  constructor(private readonly base: string) {}

  async send(
    route: string,
    method: 'GET' | 'POST',
    path: string,
    options: { body?: unknown; cookie?: string; record?: boolean } = {},
  ): Promise<{ sample: SoakSample; setCookie?: string; body: unknown }> {
    const startedAt = performance.now();
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.cookie) headers.cookie = options.cookie;
    let sample: SoakSample;
    let setCookie: string | undefined;
    let body: unknown;
    try {
      const res = await fetch(this.base + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      body = safeJson(text);
      setCookie = res.headers.getSetCookie()[0]?.split(';')[0];
      sample = {
        route,
        status: res.status,
        startedAt,
        endedAt: performance.now(),
        cache: res.headers.get('x-cache') ?? undefined,
      };
      const fields = body as { unavailable?: unknown; message?: unknown } | undefined;
      if (Array.isArray(fields?.unavailable)) sample.unavailable = fields.unavailable.map(String);
      if (res.status >= 500) sample.message = String(fields?.message ?? text.slice(0, 200));
    } catch (error) {
      sample = {
        route,
        status: 0,
        startedAt,
        endedAt: performance.now(),
        error: error instanceof Error ? error.name : String(error),
      };
    }
    if (options.record !== false) this.samples.push(sample);
    return { sample, setCookie, body };
  }

  generate(prompt: string, route = 'POST /llm/generate', record = true) {
    return this.send(route, 'POST', '/llm/generate', {
      body: { model: 'gpt-4o-mini', prompt, temperature: 0 },
      record,
    });
  }

  login(record = true) {
    return this.send('POST /auth/login', 'POST', '/auth/login', {
      body: { username: 'alice', password: 'wonderland' },
      record,
    });
  }

  /**
   * One step of the steady mix: generate (repeated and new prompts), a session round, the
   * rate-limited summarize, stats.
   */
  async step(): Promise<void> {
    const roll = Math.random();
    if (roll < 0.4) {
      await this.generate(REPEATED[Math.floor(Math.random() * REPEATED.length)]!);
    } else if (roll < 0.55) {
      await this.generate(`soak fresh ${randomBytes(6).toString('hex')}`);
    } else if (roll < 0.8) {
      const { sample, setCookie } = await this.login();
      if (sample.status !== 200 || !setCookie) return;
      await this.send('GET /profile', 'GET', '/profile', { cookie: setCookie });
      await this.send('POST /auth/logout', 'POST', '/auth/logout', { cookie: setCookie });
    } else if (roll < 0.82) {
      await this.send('POST /llm/summarize', 'POST', '/llm/summarize', {
        body: { model: 'gpt-4o-mini', prompt: 'summarize the soak', max_tokens: 50 },
      });
    } else if (roll < 0.91) {
      await this.send('GET /stats', 'GET', '/stats');
    } else {
      await this.send('GET /stats/cache', 'GET', '/stats/cache');
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Runs `concurrency` loops of `client.step()` until `stop()` is called; resolves when all end. */
export function runLoad(client: SoakClient, concurrency: number) {
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) await client.step();
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
