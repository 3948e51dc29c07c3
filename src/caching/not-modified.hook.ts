import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { answerNotModified } from '../common/http-exchange';

/**
 * Lets a client's matching `If-None-Match` get a 304 from a cached answer on every platform:
 * Express's `res.send` compares it with the ETag the cache sent; on Fastify this installs
 * the `onSend` hook that does the same (before the instance is ready).
 */
@Injectable()
export class NotModifiedHook implements OnModuleInit {
  constructor(private readonly host: HttpAdapterHost) {}

  onModuleInit(): void {
    answerNotModified(this.host.httpAdapter);
  }
}
