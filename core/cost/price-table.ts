/**
 * Prices of well-known hosted models, as data: USD per million tokens of
 * input, output and, where the provider bills it apart, cached input (a
 * prompt-cache hit). Each provider's block cites the pricing page it was read
 * from and the date it was read: prices change, and an experiment keeps the
 * price in force when it was launched (core/cost/price-in-force.ts), so a later edit of
 * this table never rewrites the cost of past runs.
 *
 * Only text-token prices of the standard (non-batch) tier are listed. Tiered
 * prices take the tier of short prompts (Gemini 2.5 Pro: up to 200k tokens).
 * Anthropic's cache-write surcharge is not modelled. A model missing here
 * has no cost (null, with the reason) unless its definition gives `prices`.
 *
 * These figures were written from the providers' pages as published on the
 * dates below and must be checked against them before anyone relies on them.
 */
export interface ModelPrice {
  /** USD per million input (prompt) tokens. */
  input: number;
  /** USD per million output (completion) tokens. */
  output: number;
  /** USD per million cached input tokens, where the provider bills them apart. */
  cached_input?: number;
}

export interface PriceSource {
  url: string;
  /** The date the prices were read from `url` (ISO date). */
  as_of: string;
}

interface ProviderPrices {
  source: PriceSource;
  models: Readonly<Record<string, ModelPrice>>;
}

const p = (input: number, output: number, cached_input?: number): ModelPrice => (cached_input === undefined ? { input, output } : { input, output, cached_input });

export const PRICE_TABLE: readonly ProviderPrices[] = [
  {
    source: { url: 'https://openai.com/api/pricing/', as_of: '2025-08-07' },
    models: {
      'gpt-5': p(1.25, 10, 0.125),
      'gpt-5-mini': p(0.25, 2, 0.025),
      'gpt-5-nano': p(0.05, 0.4, 0.005),
      'gpt-4.1': p(2, 8, 0.5),
      'gpt-4.1-mini': p(0.4, 1.6, 0.1),
      'gpt-4.1-nano': p(0.1, 0.4, 0.025),
      'gpt-4o': p(2.5, 10, 1.25),
      'gpt-4o-mini': p(0.15, 0.6, 0.075),
      o3: p(2, 8, 0.5),
      'o4-mini': p(1.1, 4.4, 0.275),
      'o3-mini': p(1.1, 4.4, 0.55),
      o1: p(15, 60, 7.5),
      'gpt-4-turbo': p(10, 30),
      'gpt-3.5-turbo': p(0.5, 1.5),
    },
  },
  {
    // Cached input is Anthropic's "cache hits & refreshes" price.
    source: { url: 'https://docs.anthropic.com/en/docs/about-claude/pricing', as_of: '2025-10-15' },
    models: {
      'claude-opus-4-1': p(15, 75, 1.5),
      'claude-opus-4': p(15, 75, 1.5),
      'claude-sonnet-4-5': p(3, 15, 0.3),
      'claude-sonnet-4': p(3, 15, 0.3),
      'claude-3-7-sonnet': p(3, 15, 0.3),
      'claude-3-5-sonnet': p(3, 15, 0.3),
      'claude-haiku-4-5': p(1, 5, 0.1),
      'claude-3-5-haiku': p(0.8, 4, 0.08),
      'claude-3-opus': p(15, 75, 1.5),
      'claude-3-haiku': p(0.25, 1.25, 0.03),
    },
  },
  {
    source: { url: 'https://ai.google.dev/gemini-api/docs/pricing', as_of: '2025-07-22' },
    models: {
      'gemini-2.5-pro': p(1.25, 10),
      'gemini-2.5-flash': p(0.3, 2.5),
      'gemini-2.5-flash-lite': p(0.1, 0.4),
      'gemini-2.0-flash': p(0.1, 0.4, 0.025),
      'gemini-2.0-flash-lite': p(0.075, 0.3),
    },
  },
  {
    source: { url: 'https://mistral.ai/pricing#api-pricing', as_of: '2025-06-01' },
    models: {
      'mistral-large': p(2, 6),
      'mistral-medium': p(0.4, 2),
      'mistral-small': p(0.1, 0.3),
      codestral: p(0.3, 0.9),
      'pixtral-large': p(2, 6),
      'ministral-8b': p(0.1, 0.1),
      'ministral-3b': p(0.04, 0.04),
      'mistral-nemo': p(0.15, 0.15),
      'open-mistral-nemo': p(0.15, 0.15),
    },
  },
  {
    // Standard-time prices; cached input is DeepSeek's "cache hit" input price.
    source: { url: 'https://api-docs.deepseek.com/quick_start/pricing', as_of: '2025-02-26' },
    models: {
      'deepseek-chat': p(0.27, 1.1, 0.07),
      'deepseek-reasoner': p(0.55, 2.19, 0.14),
    },
  },
];
