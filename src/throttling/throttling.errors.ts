/**
 * A ThrottlingModule option that cannot work; the message says how to fix it.
 *
 * @example
 * try { ThrottlingModule.forRoot({ trustProxy: true as never }); } catch (e) { e.code; }
 */
export class ThrottlingOptionsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`[${code}] ${message}`);
    this.name = 'ThrottlingOptionsError';
  }
}

/** Why an option was refused; one small function per message. */
export const optionMessages = {
  trustProxy: (value: unknown) =>
    `trustProxy must be the number of reverse proxies in front of the app (0 or more), got ${String(value)}. ` +
    'Trusting every hop lets any client choose its address by sending X-Forwarded-For: ' +
    'count your proxies (e.g. 1 behind one load balancer) and set that number.',
  positive: (field: string, value: unknown) =>
    `${field} must be a positive finite number, got ${String(value)}. Fix the value in ThrottlingModule.forRoot().`,
  integer: (field: string, value: unknown, min: number, max: number) =>
    `${field} must be an integer from ${min} to ${max}, got ${String(value)}.`,
  oneOf: (field: string, value: unknown, allowed: readonly string[]) =>
    `${field} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${String(value)}.`,
  unknownPolicy: (name: string, where: string) =>
    `${where} names the policy '${name}', which is neither a preset (standard, expensive, llm) ` +
    'nor in the policies option. Add it to ThrottlingModule.forRoot({ policies }) or pass { limit, ttlMs }.',
};
