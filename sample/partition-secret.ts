import { Logger } from '@nestjs/common';

/** The sample's public demo value: anyone can read it here, so it partitions nothing secretly. */
export const DEMO_PARTITION_SECRET = 'sample-only-partition-secret-change-me';

/**
 * The LLM cache's partition secret: `CACHE_PARTITION_SECRET`, else (outside production) the
 * public demo value, said in a warning. In production without one the sample refuses to
 * start, as it does without `SESSION_SECRET`: with a known key anyone can compute which
 * cache partition is whose.
 */
export function samplePartitionSecret(configured: string | undefined): string {
  if (configured) return configured;
  const hint = 'set CACHE_PARTITION_SECRET (32+ characters, e.g. `openssl rand -hex 32`)';
  if (process.env.NODE_ENV === 'production')
    throw new Error(`CACHE_PARTITION_SECRET is required in production: ${hint}.`);
  new Logger('Sample').warn(
    `CACHE_PARTITION_SECRET is not set: using the public demo partition secret; ${hint} outside the demo.`,
  );
  return DEMO_PARTITION_SECRET;
}
