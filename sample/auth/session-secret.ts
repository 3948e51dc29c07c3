import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';

/**
 * The sample's session secret: `SESSION_SECRET`, else (outside production) a random one for
 * this run, said in a log line. Never a hard-coded default; in production without one,
 * SessionModule refuses to start and says how to make one.
 */
export function sampleSessionSecret(configured: string | undefined): string | undefined {
  if (configured) return configured;
  if (process.env.NODE_ENV === 'production') return undefined;
  new Logger('Sample').warn(
    'SESSION_SECRET is not set: using a random session secret for this run. Sessions end when ' +
      'the app restarts and are not shared between instances; set SESSION_SECRET (32+ bytes) to keep them.',
  );
  return randomBytes(32).toString('base64url');
}
