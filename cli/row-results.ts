/**
 * Per-row results of a run, as the exports carry them: one record per dataset
 * row and metric, read page by page from `GET /v1/experiment/{id}/rows`.
 */
import { callCost } from '../core/cost/cost.js';
import type { ModelPrice } from '../core/cost/price-table.js';
import type { ApiClient } from './client.js';

export interface RowRecord {
  experiment_id: number;
  experiment: string;
  /** What tells the experiment apart from the others of its set (core/variant-labels.ts). */
  variant: string;
  model: string;
  num_line: number;
  query: string | null;
  output_true: string | null;
  answer: string | null;
  answer_error: string | null;
  /** null for an experiment without metrics: its records are its answers alone. */
  metric: string | null;
  score: number | null;
  /** The judge's explanation, when the metric gives one. */
  observation: string | null;
  observation_error: string | null;
  /** USD of the answer's call, and of the metric's judge call (null: no judge, unknown price or token counts). */
  answer_cost_usd: number | null;
  judge_cost_usd: number | null;
}

/** The cost of a call from its token counts at `price` (its cached prompt tokens at the cached price); null when they are missing. */
function costOf(price: ModelPrice | null | undefined, prompt: unknown, completion: unknown, cached: unknown): number | null {
  if (!price || (typeof prompt !== 'number' && typeof completion !== 'number')) return null;
  const count = (v: unknown) => (typeof v === 'number' ? v : 0);
  return callCost({ prompt: count(prompt), cachedPrompt: count(cached), completion: count(completion) }, price);
}

/** The route's largest page. */
const PAGE = 500;

const text = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));

/** Whether the record is a failure: its answer or its metric failed, or the metric recorded no score. */
export const failed = (r: RowRecord) => r.answer_error !== null || r.observation_error !== null || (r.metric !== null && r.score === null);

/** Every row of each experiment (`GET /v1/experiment/{id}?with_results=true` bodies), in experiment then row order. */
export async function fetchRowRecords(api: ApiClient, experiments: any[], labels: string[]): Promise<RowRecord[]> {
  const out: RowRecord[] = [];
  for (const [i, e] of experiments.entries()) {
    const metrics: (string | null)[] = (e.results ?? []).map((r: any) => r.metric_aliased_name);
    if (!metrics.length) metrics.push(null);
    // The prices in force of the experiment's model and judge (its `cost`); answers brought with it were not paid here.
    const answerPrice = e.model?.has_raw_output ? null : e.cost?.answers?.price;
    const judgePrice = e.cost?.judge?.price;
    let cursor: string | null = null;
    do {
      const page: any = await api.get(`/v1/experiment/${e.id}/rows?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const row of page.rows) {
        for (const metric of metrics) {
          const o = metric === null ? undefined : row.observations?.[metric];
          const usage = o?.observation && typeof o.observation === 'object' ? o.observation.judge_usage : undefined;
          out.push({
            experiment_id: e.id,
            experiment: e.name,
            variant: labels[i],
            model: e.model?.aliased_name || e.model?.name || '',
            num_line: row.num_line,
            query: text(row.data?.query),
            output_true: text(row.data?.output_true),
            answer: text(row.answer?.answer),
            answer_error: text(row.answer?.error_msg),
            metric,
            score: typeof o?.score === 'number' ? o.score : null,
            observation: text(o?.observation),
            observation_error: text(o?.error_msg),
            answer_cost_usd: costOf(answerPrice, row.answer?.nb_tokens_prompt, row.answer?.nb_tokens_completion, row.answer?.nb_tokens_cached),
            judge_cost_usd: usage ? costOf(judgePrice, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens) : null,
          });
        }
      }
      cursor = page.next_cursor;
    } while (cursor);
  }
  return out;
}
