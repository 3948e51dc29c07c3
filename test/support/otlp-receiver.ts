import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { safeJsonParse } from '../../src/common/safe-json';

/** One OTLP/HTTP request as received: its path (`/v1/traces`, `/v1/metrics`, ...) and JSON body. */
export interface OtlpRequest {
  path: string;
  contentType: string;
  body: unknown;
}

/** An OTLP `AnyValue` decoded to its JS value (`intValue` may come as a string: int64). */
export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;

/** A span of a `/v1/traces` export, flattened. */
export interface ReceivedSpan {
  name: string;
  /** OTLP `SpanKind`: 1 internal, 2 server, 3 client. */
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  /** Nanoseconds since the epoch. */
  startTimeUnixNano: bigint;
  scope: string;
  attributes: Record<string, AttributeValue>;
  events: { name: string; attributes: Record<string, AttributeValue> }[];
  /** OTLP `StatusCode`: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  /** The resource's attributes (`service.name`, ...). */
  resource: Record<string, AttributeValue>;
}

/** A metric of a `/v1/metrics` export: its name, unit, scope and data points' attributes. */
export interface ReceivedMetric {
  name: string;
  unit: string;
  scope: string;
  points: { attributes: Record<string, AttributeValue>; count?: number; value?: number }[];
}

interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}

function decodeValue(value: AnyValue | undefined): AttributeValue {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(decodeValue);
  return undefined;
}

function decodeAttributes(list: KeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = Object.create(null);
  for (const { key, value } of list ?? []) out[key] = decodeValue(value);
  return out;
}

interface TracesBody {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      scope?: { name?: string };
      spans?: {
        name: string;
        kind: number;
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        startTimeUnixNano?: string | number;
        attributes?: KeyValue[];
        events?: { name: string; attributes?: KeyValue[] }[];
        status?: { code?: number };
      }[];
    }[];
  }[];
}

interface DataPoint {
  attributes?: KeyValue[];
  count?: number | string;
  asDouble?: number;
  asInt?: number | string;
}
interface MetricsBody {
  resourceMetrics?: {
    scopeMetrics?: {
      scope?: { name?: string };
      metrics?: {
        name: string;
        unit?: string;
        histogram?: { dataPoints?: DataPoint[] };
        sum?: { dataPoints?: DataPoint[] };
        gauge?: { dataPoints?: DataPoint[] };
      }[];
    }[];
  }[];
}

/**
 * A local OTLP/HTTP receiver (what a collector listens on at :4318): records every request's
 * path and JSON body (the `-http` exporters send `application/json`), answers 200 `{}`.
 * `waitFor` waits, with a deadline, until what has arrived satisfies a check.
 */
export class OtlpReceiver {
  readonly requests: OtlpRequest[] = [];
  private readonly listeners = new Set<() => void>();
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = http.createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (req, res) => void receiver.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** The value of `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporters add `/v1/traces`, `/v1/metrics`). */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Every span received so far, in arrival order. */
  spans(): ReceivedSpan[] {
    const out: ReceivedSpan[] = [];
    for (const request of this.requests) {
      if (request.path !== '/v1/traces') continue;
      for (const resourceSpans of (request.body as TracesBody).resourceSpans ?? []) {
        const resource = decodeAttributes(resourceSpans.resource?.attributes);
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) {
            out.push({
              name: span.name,
              kind: span.kind,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              startTimeUnixNano: BigInt(span.startTimeUnixNano ?? 0),
              scope: scopeSpans.scope?.name ?? '',
              attributes: decodeAttributes(span.attributes),
              events: (span.events ?? []).map((event) => ({
                name: event.name,
                attributes: decodeAttributes(event.attributes),
              })),
              statusCode: span.status?.code ?? 0,
              resource,
            });
          }
        }
      }
    }
    return out;
  }

  /** Every metric received so far, one entry per metric per export. */
  metrics(): ReceivedMetric[] {
    const out: ReceivedMetric[] = [];
    for (const request of this.requests) {
      if (request.path !== '/v1/metrics') continue;
      for (const resourceMetrics of (request.body as MetricsBody).resourceMetrics ?? []) {
        for (const scopeMetrics of resourceMetrics.scopeMetrics ?? []) {
          for (const metric of scopeMetrics.metrics ?? []) {
            const points =
              metric.histogram?.dataPoints ?? metric.sum?.dataPoints ?? metric.gauge?.dataPoints;
            out.push({
              name: metric.name,
              unit: metric.unit ?? '',
              scope: scopeMetrics.scope?.name ?? '',
              points: (points ?? []).map((point) => ({
                attributes: decodeAttributes(point.attributes),
                count: point.count === undefined ? undefined : Number(point.count),
                value:
                  point.asDouble ?? (point.asInt === undefined ? undefined : Number(point.asInt)),
              })),
            });
          }
        }
      }
    }
    return out;
  }

  /**
   * Resolves with `check()`'s first defined result, evaluated now and after each request that
   * arrives; rejects after `deadlineMs` saying what `what` was and what had arrived.
   */
  waitFor<T>(what: string, check: () => T | undefined, deadlineMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const found = check();
        if (found === undefined) return false;
        finish();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        finish();
        const spans = this.spans().map((span) => span.name);
        const metrics = [...new Set(this.metrics().map((metric) => metric.name))];
        reject(
          new Error(
            `no ${what} within ${deadlineMs} ms; received ${this.requests.length} request(s), ` +
              `spans [${spans.join(', ')}], metrics [${metrics.join(', ')}]`,
          ),
        );
      }, deadlineMs);
      const listener = (): void => void attempt();
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      if (!attempt()) this.listeners.add(listener);
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const contentType = String(req.headers['content-type'] ?? '');
    const raw = Buffer.concat(chunks).toString('utf8');
    // A body that is not JSON (protobuf, or broken) is kept as its text: no span or metric in it.
    const body = contentType.startsWith('application/json') ? (safeJsonParse(raw) ?? raw) : raw;
    this.requests.push({ path: req.url ?? '', contentType, body });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
    for (const listener of [...this.listeners]) listener();
  }
}
