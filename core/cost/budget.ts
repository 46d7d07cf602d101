/**
 * Budget caps: an experiment's or a set's `max_cost` (USD) and
 * `max_tokens_total` (prompt + completion tokens of the answers and of the
 * judge calls), weighed against running totals the group commit keeps on
 * each experiment row and that stop what reaches a cap, in the commit's
 * transaction (core/store/migrations/016_budgets.ts). This is the same
 * arithmetic for reading: what was spent (GET of an experiment or a set),
 * whether a cap is reached (a retry of an experiment at its cap is refused),
 * and which launches cannot be capped in USD (a price is missing).
 *
 * The totals count spending: every call recorded, once, including those
 * whose rows a retry or a rerun later replaced. They are priced at the
 * prices pinned into the model and judge definitions at launch, the prompt
 * tokens the provider served from its cache at the pinned cached-input price
 * (migration 018), as the SQL does (evalap_call_cost); the shipped table is
 * not consulted when reading, so the figure is the one the cap saw.
 */
import type { FieldIssue } from '../errors.js';
import { callCost } from './cost.js';
import { pinnedPrice } from './price-in-force.js';

/** The stop_reason of a stop asked for (POST /v1/stop/…); a cap's stop says which cap and what was spent. */
export const STOPPED_BY_REQUEST = 'stopped by request';

export interface Caps {
  max_cost: number | null;
  max_tokens_total: number | null;
}

/** The running totals of an experiment row; null for one launched before they were kept (migration 016). */
export interface UsedTokens {
  used_prompt_tokens: number | null;
  used_completion_tokens: number | null;
  used_judge_prompt_tokens: number | null;
  used_judge_completion_tokens: number | null;
  /** Of the prompt tokens, those served from the provider's cache (migration 018); null or absent: none recorded. */
  used_cached_prompt_tokens?: number | null;
  used_judge_cached_prompt_tokens?: number | null;
}

/** What an experiment's definition says about the prices of its calls. */
export interface PricedExperiment {
  model: unknown;
  judge_model: unknown;
  has_raw_output: boolean;
}

export interface SpentPart {
  prompt_tokens: number;
  /** Of prompt_tokens, those priced at the cached-input price. */
  cached_prompt_tokens: number;
  completion_tokens: number;
  /** USD; null when these tokens have no pinned price. */
  cost: number | null;
}

// Where a budget reads its prices; the reading itself is price-in-force.ts's, beside the other readers of a pinned price.
export { pinnedPrice };

export interface Spent {
  /** Prompt and completion tokens of the answers and the judge calls. */
  tokens: number;
  /** USD; null as soon as one part's is. */
  cost: number | null;
  answers: SpentPart;
  judge: SpentPart;
}


const NOTHING: SpentPart = { prompt_tokens: 0, cached_prompt_tokens: 0, completion_tokens: 0, cost: 0 };

function part(model: unknown, prompt: number, cached: number, completion: number): SpentPart {
  if (!prompt && !completion) return NOTHING;
  const price = pinnedPrice(model);
  const cost = price ? callCost({ prompt, cachedPrompt: cached, completion }, price) : null;
  return { prompt_tokens: prompt, cached_prompt_tokens: cached, completion_tokens: completion, cost };
}

const addCost = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b);

function whole(answers: SpentPart, judge: SpentPart): Spent {
  const tokens = answers.prompt_tokens + answers.completion_tokens + judge.prompt_tokens + judge.completion_tokens;
  return { tokens, cost: addCost(answers.cost, judge.cost), answers, judge };
}

/** What an experiment spent, from its row; null when its totals are unknown. */
export function spentOf(e: PricedExperiment & UsedTokens): Spent | null {
  const { used_prompt_tokens: p, used_completion_tokens: c, used_judge_prompt_tokens: jp, used_judge_completion_tokens: jc } = e;
  if (p === null || c === null || jp === null || jc === null) return null;
  // Outputs brought with the experiment were paid for elsewhere (and the commit never counts them).
  const answers = e.has_raw_output ? NOTHING : part(e.model, p, e.used_cached_prompt_tokens ?? 0, c);
  return whole(answers, part(e.judge_model, jp, e.used_judge_cached_prompt_tokens ?? 0, jc));
}

/** What several experiments (a set) spent; null when one of them has unknown totals. */
export function sumSpent(list: readonly (Spent | null)[]): Spent | null {
  if (list.some((s) => s === null)) return null;
  const sum = (pick: (s: Spent) => SpentPart): SpentPart =>
    (list as Spent[]).reduce<SpentPart>((acc, s) => {
      const p = pick(s);
      return {
        prompt_tokens: acc.prompt_tokens + p.prompt_tokens,
        cached_prompt_tokens: acc.cached_prompt_tokens + p.cached_prompt_tokens,
        completion_tokens: acc.completion_tokens + p.completion_tokens,
        cost: addCost(acc.cost, p.cost),
      };
    }, NOTHING);
  return whole(sum((s) => s.answers), sum((s) => s.judge));
}

export type Reached = { cap: 'max_cost'; limit: number; spent: number } | { cap: 'max_tokens_total'; limit: number; spent: number };

/** The caps `spent` has reached (a total at the cap has reached it). An unknown cost reaches no max_cost. */
export function reachedCaps(caps: Caps, spent: Spent | null): Reached[] {
  if (!spent) return [];
  const out: Reached[] = [];
  if (caps.max_cost !== null && spent.cost !== null && spent.cost >= caps.max_cost) out.push({ cap: 'max_cost', limit: caps.max_cost, spent: spent.cost });
  if (caps.max_tokens_total !== null && spent.tokens >= caps.max_tokens_total) out.push({ cap: 'max_tokens_total', limit: caps.max_tokens_total, spent: spent.tokens });
  return out;
}

/** A USD figure as the recorded reasons show it (evalap_usd): rounded to the millionth, no trailing zeros. */
export const usdFigure = (v: number): string => String(Number(v.toFixed(6)));

/** "max_cost of 0.5 USD (0.5012 USD spent)", "max_tokens_total of 5000 (5012 tokens used)". */
export const describeReached = (r: Reached): string =>
  r.cap === 'max_cost' ? `max_cost of ${usdFigure(r.limit)} USD (${usdFigure(r.spent)} USD spent)` : `max_tokens_total of ${r.limit} (${r.spent} tokens used)`;

/** The calls of an experiment a max_cost prices: its answers' model (unless it brought its outputs) and, when a metric asks it, its judge. */
export interface ChargedParts {
  model: unknown;
  /** The model's JSON path in the request, for the issue. */
  modelPath: string;
  judge: unknown;
  judgePath: string;
  /** Whether the answers are generated here. */
  answers: boolean;
  /** Whether a metric asks the judge. */
  judged: boolean;
}

const nameOf = (m: unknown) => JSON.stringify(String((m as { name?: unknown } | null)?.name ?? ''));

/**
 * Why a max_cost cannot be weighed for these calls: a model or judge whose
 * definition has no pinned price (neither its own `prices` nor the shipped
 * table's) would count as unknown, and the cap would never be reached.
 * `launching`: the definitions are in the request, so prices can be given;
 * a stored experiment's were pinned at its launch.
 */
export function unpricedIssues(p: ChargedParts, capPath: string, launching: boolean): FieldIssue[] {
  const fix = (path: string, how: string) =>
    launching ? `give ${how} (USD per million tokens), or cap with max_tokens_total instead` : `prices are pinned at launch, so cap it with max_tokens_total instead (${path} has none)`;
  const issues: FieldIssue[] = [];
  if (p.answers && !pinnedPrice(p.model)) {
    issues.push({ path: p.modelPath, message: `${capPath} needs the model's price: ${nameOf(p.model)} is not in the shipped price table; ${fix(p.modelPath, `${p.modelPath}.prices {input, output}`)}` });
  }
  if (p.judged && !pinnedPrice(p.judge)) {
    issues.push({ path: p.judgePath, message: `${capPath} needs the judge's price: ${nameOf(p.judge)} is not in the shipped price table; ${fix(p.judgePath, `${p.judgePath} as a model definition with prices {input, output}`)}` });
  }
  return issues;
}
