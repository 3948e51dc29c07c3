import { HttpException } from '@nestjs/common';
import type { Request } from 'express';

// Set by Nest 12 on a request its pipes rejected (the handler did not run).
const REJECTED_BY_PIPES = Symbol.for('nestjs:rejected-by-pipes');

/**
 * The request itself was refused (its pipes rejected it, or a 4xx other than 408/429): no
 * upstream call was made for it, so it is no LLM call (no miss, no stale answer, no span).
 */
export function isClientError(error: unknown, req: Request): boolean {
  if ((req as unknown as Record<symbol, unknown>)[REJECTED_BY_PIPES] === true) return true;
  if (!(error instanceof HttpException)) return false;
  const status = error.getStatus();
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}
