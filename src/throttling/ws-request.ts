import type { HttpException } from '@nestjs/common';
import type { Request } from 'express';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { optionalRequire } from '../common/optional-require';

/** What the guard reads of a gateway's client: `ws` (platform-ws) and socket.io sockets. */
interface WsClient {
  /** socket.io's handshake request; on platform-ws, what the gateway kept in `handleConnection`. */
  request?: IncomingMessage;
  /** `ws` before version 3. */
  upgradeReq?: IncomingMessage;
  /** `ws`: the TCP socket. */
  _socket?: { remoteAddress?: string };
  /** socket.io: the engine.io connection. */
  conn?: { remoteAddress?: string };
  handshake?: { address?: string; headers?: IncomingHttpHeaders; url?: string };
}

/**
 * The request a WebSocket message is limited as: the client's upgrade request when the socket
 * carries it (`client.request`: socket.io does, a platform-ws gateway can keep it in
 * `handleConnection`), so `trustProxy`, headers and the session apply; else only the socket's
 * peer address. The message data is its `body` (what `@LLMThrottle` budgets reserve from).
 */
export function wsRequestOf(client: unknown, data: unknown): Request {
  const c = (client ?? {}) as WsClient;
  const upgrade = c.request ?? c.upgradeReq;
  const peer =
    upgrade?.socket?.remoteAddress ??
    c._socket?.remoteAddress ??
    c.conn?.remoteAddress ??
    c.handshake?.address ??
    '';
  if (!upgrade)
    return {
      headers: c.handshake?.headers ?? {},
      url: c.handshake?.url,
      socket: { remoteAddress: peer },
      body: data,
    } as unknown as Request;
  // One object per message over the client's upgrade request: its headers, url, session and
  // user are read through, the message's own fields (body, the guard's marks) stay its own.
  const req = Object.create(upgrade) as Request;
  Object.defineProperty(req, 'body', { value: data, writable: true, enumerable: true });
  // A socket closed since the handshake (socket.io's polling transport) has no address left.
  if (!upgrade.socket?.remoteAddress)
    Object.defineProperty(req, 'socket', { value: { remoteAddress: peer } });
  return req;
}

/**
 * A refusal as a gateway answers it: a `WsException` carrying the HTTP answer's body, which
 * Nest's `BaseWsExceptionFilter` emits to the client as its `exception` event. Loaded lazily:
 * `@nestjs/websockets` is present whenever a gateway runs, and an HTTP app need not have it.
 */
export function wsRefusal(error: HttpException): Error {
  const websockets = optionalRequire<typeof import('@nestjs/websockets')>('@nestjs/websockets');
  return websockets ? new websockets.WsException(error.getResponse()) : error;
}
