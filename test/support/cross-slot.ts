import { createClient } from 'redis';

/**
 * How many CROSSSLOT errors the Redis nodes at `urls` have answered since they started
 * (`INFO errorstats`): a multi-key command or script whose keys live in different slots.
 */
export async function crossSlotErrors(urls: string[]): Promise<number> {
  const counts = await Promise.all(
    urls.map(async (url) => {
      const client = createClient({ url });
      client.on('error', () => undefined);
      await client.connect();
      try {
        const info = await client.info('errorstats');
        return Number(/errorstat_CROSSSLOT:count=(\d+)/.exec(info)?.[1] ?? 0);
      } finally {
        client.destroy();
      }
    }),
  );
  return counts.reduce((sum, n) => sum + n, 0);
}

/** Thrown (failing the test) when a cluster answered CROSSSLOT. */
export class CrossSlotError extends Error {
  override readonly name = 'CrossSlotError';
  constructor(count: number, where: string) {
    super(
      `${count} CROSSSLOT error(s) on ${where}: a multi-key command or script touched keys of ` +
        'different slots. Give the keys one hash tag, or split the call per slot.',
    );
  }
}
