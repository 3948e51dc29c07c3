import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './support/free-port';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver';

// The real exporter path: the sample, built and started as `npm start` does, in a child process
// with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP/HTTP receiver. The Node SDK it
// registers (sample/telemetry.ts) exports the HTTP server span, the kit's LLM-call spans and
// its metrics as OTLP JSON; the spec decodes what arrives. A child process keeps the SDK's
// globals (providers, the patched `http`) out of the other spec files. The sample runs once on
// each platform (PLATFORM=express, PLATFORM=fastify), and the trace tree is the same. No Nest app
// runs in the spec's own process, so it is in no-http-specs.json (the Express project runs it
// once, for both platforms).

const ROOT = join(__dirname, '..');
/** Bound on the build and the boot of the sample (seconds alone; the machine is shared). */
const BOOT_DEADLINE_MS = 90_000;
/** Bound on each wait for an export (spans are batched every 100 ms here). */
const EXPORT_DEADLINE_MS = 20_000;
const SERVER = 2;
const CLIENT = 3;

/** The sample's environment without any OTEL_* or Redis setting of the outer shell. */
function sampleEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test' };
  for (const name of Object.keys(env))
    if (name.startsWith('OTEL_') || name.startsWith('REDIS_')) delete env[name];
  return { ...env, ...extra };
}

/** Resolves when the child has printed `text`; rejects when it exits first or after the deadline. */
function waitForOutput(child: ChildProcess, text: string, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`no "${text}" within ${BOOT_DEADLINE_MS} ms:\n${output()}`)),
      BOOT_DEADLINE_MS,
    );
    const onData = (): void => {
      if (!output().includes(text)) return;
      cleanup();
      resolve();
    };
    const onExit = (code: number | null): void =>
      fail(new Error(`the sample exited (${code}) before "${text}":\n${output()}`));
    const fail = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    onData();
  });
}

/** Resolves with the child's exit code and signal; SIGKILLs it after the deadline. */
function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), EXPORT_DEADLINE_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

let built: Promise<unknown> | undefined;
/** Builds the sample as `npm start` does, once for the spec file. */
function buildSample(): Promise<unknown> {
  built ??= promisify(execFile)(process.execPath, ['tools/build-sample.mjs'], {
    cwd: ROOT,
    timeout: BOOT_DEADLINE_MS,
  });
  return built;
}

const isGenerateServerSpan = (span: ReceivedSpan): boolean =>
  span.kind === SERVER && span.attributes['url.path'] === '/llm/generate';

describe.each(['express', 'fastify'])(
  'OpenTelemetry: the sample on %s exports over OTLP/HTTP to a local receiver',
  (platform) => {
    let receiver: OtlpReceiver;
    let sample: ChildProcess;
    let output = '';
    let baseUrl: string;
    const xCache: string[] = [];

    beforeAll(async () => {
      receiver = await OtlpReceiver.start();
      await buildSample();
      const port = await freePort();
      baseUrl = `http://127.0.0.1:${port}`;
      sample = spawn(process.execPath, ['--enable-source-maps', 'dist-sample/sample/main.js'], {
        cwd: ROOT,
        env: sampleEnv({
          PORT: String(port),
          PLATFORM: platform,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          // Spans in batches every 100 ms; metrics only when the app shuts down (the final flush).
          OTEL_BSP_SCHEDULE_DELAY: '100',
          OTEL_METRIC_EXPORT_INTERVAL: '600000',
        }),
      });
      sample.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      sample.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await waitForOutput(sample, 'listening on', () => output);
      expect(output).toMatch(new RegExp(`listening on \\S+ \\(${platform}, `));
      // A miss, then the same request again: a hit.
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${baseUrl}/llm/generate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', prompt: 'Trace this question' }),
          signal: AbortSignal.timeout(EXPORT_DEADLINE_MS),
        });
        expect(response.status).toBe(200);
        xCache.push(response.headers.get('x-cache') ?? '');
        await response.arrayBuffer();
      }
    }, BOOT_DEADLINE_MS * 2);

    afterAll(async () => {
      if (sample && sample.exitCode === null && sample.signalCode === null) {
        sample.kill('SIGKILL');
        await waitForExit(sample);
      }
      await receiver?.close();
    });

    it('sends OTLP JSON to /v1/traces: the HTTP server span of each request, service nestjs-llm-kit-sample', async () => {
      const servers = await receiver.waitFor(
        'two HTTP server spans of POST /llm/generate',
        () => {
          const found = receiver.spans().filter(isGenerateServerSpan);
          return found.length >= 2 ? found : undefined;
        },
        EXPORT_DEADLINE_MS,
      );
      const traces = receiver.requests.filter((request) => request.path === '/v1/traces');
      expect(traces.map((request) => request.contentType)).toEqual(
        traces.map(() => expect.stringMatching(/^application\/json/)),
      );
      expect(servers.map((span) => span.resource['service.name'])).toEqual([
        'nestjs-llm-kit-sample',
        'nestjs-llm-kit-sample',
      ]);
      expect(new Set(servers.map((span) => span.traceId)).size).toBe(2);
    });

    it('exports the LLM-call span as a child of the HTTP server span, with gen_ai.* and the cache outcome miss then hit', async () => {
      expect(xCache).toEqual(['MISS', 'HIT']);
      const pairs = await receiver.waitFor(
        "two LLM-call spans, each a child of its request's HTTP server span",
        () => {
          const spans = receiver.spans();
          const servers = spans.filter(isGenerateServerSpan);
          const calls = servers.map((server) =>
            spans.find(
              (span) =>
                span.scope === 'nestjs-llm-kit' &&
                span.traceId === server.traceId &&
                span.parentSpanId === server.spanId,
            ),
          );
          if (servers.length < 2 || calls.some((call) => !call)) return undefined;
          return servers.map((server, i) => ({ server, call: calls[i]! }));
        },
        EXPORT_DEADLINE_MS,
      );
      // In request order: the first request's server span started first.
      const ordered = pairs
        .sort((a, b) => Number(a.server.startTimeUnixNano - b.server.startTimeUnixNano))
        .map(({ call }) => call);
      expect(
        ordered.map((call) => ({
          name: call.name,
          kind: call.kind,
          operation: call.attributes['gen_ai.operation.name'],
          provider: call.attributes['gen_ai.provider.name'],
          model: call.attributes['gen_ai.request.model'],
          outcome: call.attributes['llm_kit.cache.outcome'],
        })),
      ).toEqual(
        ['miss', 'hit'].map((outcome) => ({
          name: 'chat gpt-4o-mini',
          kind: CLIENT,
          operation: 'chat',
          provider: 'openai',
          model: 'gpt-4o-mini',
          outcome,
        })),
      );
      const [miss, hit] = ordered;
      expect(miss!.attributes['gen_ai.usage.input_tokens']).toEqual(expect.any(Number));
      expect(miss!.attributes['gen_ai.usage.output_tokens']).toEqual(expect.any(Number));
      expect(hit!.attributes['llm_kit.cache.age_ms']).toEqual(expect.any(Number));
      // The miss went upstream (an `llm_kit.upstream` child); the hit did not.
      const upstream = (call: ReceivedSpan) =>
        receiver
          .spans()
          .filter((span) => span.parentSpanId === call.spanId)
          .map((span) => [span.name, span.kind]);
      expect([upstream(miss!), upstream(hit!)]).toEqual([[['llm_kit.upstream', CLIENT]], []]);
      // No prompt text unless the app opts in (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT).
      const text = JSON.stringify(receiver.requests.map((request) => request.body));
      expect(text).not.toContain('Trace this question');
    });

    it('flushes on shutdown: SIGTERM ends the sample, and the final metric export holds gen_ai.client.operation.duration', async () => {
      sample.kill('SIGTERM');
      const exit = await waitForExit(sample);
      expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
      const metrics = receiver.metrics();
      // The HTTP instrumentation's histogram: a metric export happened at shutdown at all.
      expect(metrics.map((metric) => metric.name)).toContain('http.server.request.duration');
      const duration = metrics.find((metric) => metric.name === 'gen_ai.client.operation.duration');
      expect(duration).toMatchObject({ unit: 's', scope: 'nestjs-llm-kit' });
      expect(duration!.points.map((point) => point.attributes['gen_ai.request.model'])).toContain(
        'gpt-4o-mini',
      );
      const metricRequests = receiver.requests.filter((request) => request.path === '/v1/metrics');
      expect(metricRequests.map((request) => request.contentType)).toEqual(
        metricRequests.map(() => expect.stringMatching(/^application\/json/)),
      );
    });
  },
);

describe('OpenTelemetry: the sample without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('sample/telemetry.ts requires no OpenTelemetry package: the SDK, exporters and instrumentation stay unloaded', async () => {
    await buildSample();
    const script =
      "require('./dist-sample/sample/telemetry.js');" +
      "console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('@opentelemetry'))))";
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      cwd: ROOT,
      env: sampleEnv({}),
      timeout: BOOT_DEADLINE_MS,
    });
    expect(JSON.parse(stdout)).toEqual([]);
  });
});
