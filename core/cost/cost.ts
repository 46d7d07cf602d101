/**
 * Cost arithmetic, in USD: of one call, of an experiment's answers and of its
 * judge calls (accounted apart, each at its own model's price), of the whole
 * experiment and of several (a set). Computed when read, from the stored
 * token counts and the price in force (price-in-force.ts): nothing is stored,
 * so a price corrected in a model definition or the table never leaves a
 * stale figure behind. An unknown price or missing token counts give null
 * with the reason, never 0; 0 means nothing was called.
 */
import type { ModelPrice } from './price-table.js';
import { priceInForce, type PriceInForce } from './price-in-force.js';

const PER = 1_000_000;

export interface CallTokens {
  prompt: number;
  completion: number;
  /** Of the prompt tokens, those the provider served from its cache. */
  cachedPrompt?: number;
}

/** The cost of tokens at `price` (USD per million tokens); cached prompt tokens at the cached price where there is one. */
export function callCost(t: CallTokens, price: ModelPrice): number {
  const cached = Math.min(t.cachedPrompt ?? 0, t.prompt);
  return ((t.prompt - cached) * price.input + cached * (price.cached_input ?? price.input) + t.completion * price.output) / PER;
}

/** Token sums of an experiment's answers, or of its judge calls (core/store/experiments.ts tokenTotals). */
export interface TokenTotals {
  /** Answers, or judged observations, with token counts (an observation's judge_usage sums its metric's judge calls). */
  calls: number;
  prompt_tokens: number;
  /** Of prompt_tokens, those the providers served from their cache (core/providers/openai.ts); absent: none recorded. */
  cached_prompt_tokens?: number;
  completion_tokens: number;
  /** Calls that succeeded but whose provider reported no token counts: not in the cost. */
  without_tokens: number;
}

export const NO_TOKENS: TokenTotals = { calls: 0, prompt_tokens: 0, cached_prompt_tokens: 0, completion_tokens: 0, without_tokens: 0 };

export interface PartCost {
  model: string | null;
  /** USD; null when it cannot be known (see reason). */
  cost: number | null;
  /** Why cost is null, or what it leaves out. */
  reason?: string;
  calls: number;
  calls_without_tokens: number;
  prompt_tokens: number;
  /** Of prompt_tokens, those charged at the cached-input price. */
  cached_prompt_tokens: number;
  completion_tokens: number;
  /** Mean cost of one call with token counts. */
  per_call: number | null;
  price: PriceInForce | null;
}

const modelName = (m: unknown) => {
  const o = m as { aliased_name?: unknown; name?: unknown } | null;
  return o && typeof o === 'object' ? String(o.aliased_name || o.name || '') || null : null;
};

/**
 * The cost of the calls a model made. `elsewhere`: answers brought with the
 * experiment, generated (and paid for) outside the platform.
 */
export function partCost(model: unknown, t: TokenTotals, elsewhere = false): PartCost {
  const lookup = model ? priceInForce(model) : { price: null, reason: 'no model' };
  const cached_prompt_tokens = t.cached_prompt_tokens ?? 0;
  const base = { model: modelName(model), calls: t.calls, calls_without_tokens: t.without_tokens, prompt_tokens: t.prompt_tokens, cached_prompt_tokens, completion_tokens: t.completion_tokens, price: lookup.price };
  if (elsewhere) return { ...base, cost: null, per_call: null, reason: 'outputs brought with the experiment: generated elsewhere, not charged here' };
  if (t.calls === 0 && t.without_tokens === 0) return { ...base, cost: 0, per_call: null };
  if (!lookup.price) return { ...base, cost: null, per_call: null, reason: lookup.reason };
  if (t.calls === 0) return { ...base, cost: null, per_call: null, reason: 'the provider reported no token counts' };
  const cost = callCost({ prompt: t.prompt_tokens, cachedPrompt: cached_prompt_tokens, completion: t.completion_tokens }, lookup.price);
  const partial = t.without_tokens ? { reason: `${t.without_tokens} call(s) without token counts are not counted` } : {};
  return { ...base, cost, per_call: cost / t.calls, ...partial };
}

export interface ExperimentCost {
  currency: 'USD';
  /** Answers and judge calls; null when either was charged here at an unknown cost. */
  total: number | null;
  reason?: string;
  answers: PartCost;
  judge: PartCost;
}

/** What an experiment's stored definition says about its model, judge and answers. */
export interface CostedExperiment {
  model: unknown;
  judge_model: unknown;
  has_raw_output: boolean;
}

export function experimentCost(e: CostedExperiment, tokens: { answers: TokenTotals; judge: TokenTotals }): ExperimentCost {
  const answers = partCost(e.model, tokens.answers, e.has_raw_output);
  const judge = partCost(e.judge_model, tokens.judge);
  // Answers brought with the experiment cost the platform nothing: the total is the judge's.
  const charged = e.has_raw_output ? [judge] : [answers, judge];
  const unknown = charged.filter((p) => p.cost === null);
  const reasons = [answers, judge].flatMap((p, i) => (p.reason ? [`${i ? 'judge' : 'answers'}: ${p.reason}`] : []));
  return {
    currency: 'USD',
    total: unknown.length ? null : charged.reduce((s, p) => s + p.cost!, 0),
    ...(reasons.length ? { reason: reasons.join('; ') } : {}),
    answers,
    judge,
  };
}

export interface CostSum {
  total: number | null;
  answers: number | null;
  judge: number | null;
  /** Experiments whose total is unknown. */
  unknown: number;
}

/** The cost of several experiments (a set): each sum is null as soon as one of its terms is. */
export function sumCosts(costs: readonly (ExperimentCost | null | undefined)[]): CostSum {
  const add = (pick: (c: ExperimentCost) => number | null) =>
    costs.reduce<number | null>((s, c) => {
      const v = c ? pick(c) : null;
      return s === null || v === null ? null : s + v;
    }, 0);
  return {
    total: add((c) => c.total),
    answers: add((c) => c.answers.cost),
    judge: add((c) => c.judge.cost),
    unknown: costs.filter((c) => !c || c.total === null).length,
  };
}
