import type { LlmUsage } from './llm-usage';

/** Price of a model in USD per one million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Price of prompt tokens read from the provider's cache; defaults to `input`. */
  cachedInput?: number;
}

/** The day the shipped price table was last checked against the providers' price pages. */
export const PRICES_AS_OF = '2025-11-01';

/**
 * List prices (standard tier, USD per 1M tokens) of current OpenAI, Anthropic and Google
 * models as of `PRICES_AS_OF`. Override or extend them with the `pricing` option.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  // OpenAI
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  o3: { input: 2, cachedInput: 0.5, output: 8 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  // Anthropic (cachedInput = cache read price)
  'claude-opus-4-5': { input: 5, cachedInput: 0.5, output: 25 },
  'claude-opus-4-1': { input: 15, cachedInput: 1.5, output: 75 },
  'claude-opus-4': { input: 15, cachedInput: 1.5, output: 75 },
  'claude-sonnet-4-5': { input: 3, cachedInput: 0.3, output: 15 },
  'claude-sonnet-4': { input: 3, cachedInput: 0.3, output: 15 },
  'claude-3-7-sonnet': { input: 3, cachedInput: 0.3, output: 15 },
  'claude-3-5-sonnet': { input: 3, cachedInput: 0.3, output: 15 },
  'claude-haiku-4-5': { input: 1, cachedInput: 0.1, output: 5 },
  'claude-3-5-haiku': { input: 0.8, cachedInput: 0.08, output: 4 },
  'claude-3-haiku': { input: 0.25, cachedInput: 0.03, output: 1.25 },
  // Google (prompts up to 200k tokens)
  'gemini-2.5-pro': { input: 1.25, cachedInput: 0.31, output: 10 },
  'gemini-2.5-flash': { input: 0.3, cachedInput: 0.075, output: 2.5 },
  'gemini-2.5-flash-lite': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gemini-2.0-flash': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gemini-2.0-flash-lite': { input: 0.075, output: 0.3 },
};

/** The price used for a model the table does not know. */
export const DEFAULT_UNKNOWN_MODEL_PRICE: ModelPrice = { input: 1, output: 4 };

/** A model's price and whether it came from the table (false: the unknown-model default). */
export interface ResolvedPrice {
  price: ModelPrice;
  known: boolean;
  /** The table's name that matched (e.g. `gpt-4o` for `openai/gpt-4o-2024-08-06`). */
  name?: string;
}

/**
 * Looks up model prices: an exact name first, then the longest table name the model starts
 * with (so dated snapshots like `claude-3-5-sonnet-20241022` or `gpt-4o-2024-08-06` match),
 * then the unknown-model default.
 *
 * @example
 * const pricing = new PriceTable({ 'my-finetune': { input: 3, output: 12 } });
 * pricing.cost('gpt-4o-mini', usage); // USD
 */
export class PriceTable {
  // A Map: model names come from request bodies, so '__proto__' or 'constructor' must be
  // plain unknown names, never Object.prototype members.
  private readonly prices: Map<string, ModelPrice>;
  private readonly names: string[];

  constructor(
    overrides: Record<string, ModelPrice> = {},
    private readonly unknown: ModelPrice = DEFAULT_UNKNOWN_MODEL_PRICE,
  ) {
    this.prices = new Map([...Object.entries(DEFAULT_PRICES), ...Object.entries(overrides)]);
    this.names = [...this.prices.keys()].sort((a, b) => b.length - a.length);
  }

  resolve(model: string | undefined): ResolvedPrice {
    if (typeof model === 'string' && model) {
      const name = model.toLowerCase().replace(/^(models\/|openai\/|anthropic\/|google\/)/, '');
      const exact = this.prices.get(name);
      if (exact) return { price: exact, known: true, name };
      const prefix = this.names.find((candidate) => name.startsWith(candidate));
      if (prefix) return { price: this.prices.get(prefix)!, known: true, name: prefix };
    }
    return { price: this.unknown, known: false };
  }

  /** USD cost of the usage at the model's price. */
  cost(model: string | undefined, usage: LlmUsage): number {
    const { price } = this.resolve(model);
    return (
      (usage.inputTokens * price.input +
        usage.cachedInputTokens * (price.cachedInput ?? price.input) +
        usage.outputTokens * price.output) /
      1_000_000
    );
  }
}
