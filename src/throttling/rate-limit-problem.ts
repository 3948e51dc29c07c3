import { HttpException, HttpStatus } from '@nestjs/common';
import type { ServerResponse } from 'node:http';

/** A violated policy as the 429 body names it. */
export interface ViolatedPolicy {
  name: string;
  kind: 'requests' | 'tokens' | 'usd';
  limit: number;
  windowMs: number;
}

/**
 * The 429 answer: `Retry-After` and an RFC 9457 `application/problem+json` body naming the
 * violated policies (set on Node's response: Nest's Express adapter and Fastify both keep a `+json` content type
 * they find set). No
 * response (a WebSocket message): the body alone.
 */
export function tooManyRequests(
  res: ServerResponse | undefined,
  message: string,
  violated: ViolatedPolicy[],
  retryAfterSeconds: number,
): HttpException {
  res?.setHeader('Retry-After', String(retryAfterSeconds));
  res?.setHeader('Content-Type', 'application/problem+json');
  return new HttpException(
    problemBody(message, violated, retryAfterSeconds),
    HttpStatus.TOO_MANY_REQUESTS,
  );
}

/** The RFC 9457 body of a 429 that names the violated policies (routes and LLM calls alike). */
export function problemBody(
  message: string,
  violated: ViolatedPolicy[],
  retryAfterSeconds: number,
) {
  return {
    type: 'about:blank',
    title: 'Too Many Requests',
    status: 429,
    detail: message,
    policies: violated.map((p) => ({
      name: p.name,
      kind: p.kind,
      limit: p.limit,
      windowSeconds: Math.ceil(p.windowMs / 1000),
    })),
    retryAfterSeconds,
  };
}

/** The 503 of a `closed` policy while Redis is away, also as problem+json. */
export function rateLimitingUnavailable(res: ServerResponse | undefined): HttpException {
  res?.setHeader('Content-Type', 'application/problem+json');
  return new HttpException(
    {
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'Rate limiting is unavailable, retry shortly.',
    },
    HttpStatus.SERVICE_UNAVAILABLE,
  );
}

/**
 * The 413 of a request whose own reservation is larger than a whole budget: no wait would let
 * it through, so it gets no `Retry-After`.
 */
export function neverFits(
  res: ServerResponse | undefined,
  budget: { name: string; kind: 'tokens' | 'usd'; limit: number; periodMs: number },
  reserved: number,
): HttpException {
  res?.setHeader('Content-Type', 'application/problem+json');
  const unit = budget.kind === 'usd' ? 'micro-USD' : 'tokens';
  return new HttpException(
    {
      type: 'about:blank',
      title: 'Content Too Large',
      status: 413,
      detail:
        `This request reserves ${reserved} ${unit} but the budget "${budget.name}" allows ` +
        `${budget.limit} per ${Math.ceil(budget.periodMs / 1000)} s: it can never fit. ` +
        'Send a shorter prompt or a smaller max_tokens.',
      policies: [
        {
          name: budget.name,
          kind: budget.kind,
          limit: budget.limit,
          windowSeconds: Math.ceil(budget.periodMs / 1000),
        },
      ],
      reserved,
    },
    HttpStatus.PAYLOAD_TOO_LARGE,
  );
}

/**
 * A refusal as a GraphQL resolver throws it: the problem body with Nest's `statusCode` and
 * `message` (the `detail`), the shape `@nestjs/apollo` turns into a GraphQL error whose
 * `message` is the detail, `extensions.status` the HTTP status and `extensions.originalError`
 * the body.
 */
export function graphqlRefusal(error: HttpException): HttpException {
  const body = error.getResponse() as { detail?: string };
  const status = error.getStatus();
  return new HttpException({ ...body, statusCode: status, message: body.detail }, status);
}
