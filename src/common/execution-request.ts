import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

type WithRequest = { request?: Request; req?: Request };

/**
 * The one "request of an execution context" of the kit: the HTTP request of a route, the
 * handshake request of a WebSocket client that keeps it (socket.io's `client.request`), the
 * `req` of a GraphQL context; undefined for anything else (RPC, a gateway without it).
 */
export function requestOf(context: ExecutionContext): Request | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest<Request>();
  // socket.io keeps the handshake request as `client.request`; ws does when the adapter does.
  if (type === 'ws') return context.switchToWs().getClient<WithRequest | undefined>()?.request;
  if (type === 'graphql') return (context.getArgs<unknown[]>()[2] as WithRequest | undefined)?.req;
  return undefined;
}
