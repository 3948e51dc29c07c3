/** A running variant the load generator can hit. */
export interface BenchTarget {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  /** Stops what `start` started. */
  close(): Promise<void>;
}

/** What every scenario can use: the bench's Redis. */
export interface BenchContext {
  redisUrl: string;
}

/** A target ratio: this scenario's req/s over `against`'s must be at least `min`. */
export interface BenchTarget_ {
  against: string;
  min: number;
}

/** One line of the bench table. */
export interface Scenario {
  name: string;
  /** What it shows, one short phrase. */
  description: string;
  /** Scenario names to print ratios against (the baseline is always one). */
  compareTo?: string[];
  targets?: BenchTarget_[];
  start(ctx: BenchContext): Promise<BenchTarget>;
}
