/**
 * The leaderboard reads the aggregates stored on each result: no scan of
 * observations for the scores. Cost is the exception, for now: the listed
 * experiments' token counts are summed from their rows (tokenTotals, by the
 * answer and result keys) until per-experiment token counters exist; then
 * tokenTotals reads those and nothing here changes.
 */
import { experimentCost } from '../cost/cost.js';
import type { Db } from './db.js';
import { tokenTotals } from './experiments.js';
import { isoTime, withSummary } from './sql.js';

export interface LeaderboardFilter {
  metricName?: string;
  datasetName?: string;
  judgeModel?: string;
  limit: number;
}

/** Evalap lists an experiment once it has observations for the metric, even
 *  when none of them parsed to a score; its score is then null and it ranks last. */
export async function leaderboard(db: Db, f: LeaderboardFilter) {
  // As Evalap's (which joins the model), an experiment without a model ranks nothing: there is no model to rank.
  const where = ['r.num_try > 0', 'e.model IS NOT NULL'];
  const values: unknown[] = [];
  if (f.metricName) where.push(`r.metric_aliased_name = $${values.push(f.metricName)}`);
  if (f.datasetName) where.push(`d.name = $${values.push(f.datasetName)}`);
  if (f.judgeModel) where.push(`e.judge_model->>'name' = $${values.push(f.judgeModel)}`);
  // other_metrics reads the sibling results' stored aggregates: still no scan of observations.
  const { rows } = await db.query(
    `SELECT e.id AS experiment_id, e.name AS experiment_name, e.experiment_set_id, s.name AS experiment_set_name,
            coalesce(nullif(e.model->>'aliased_name', ''), e.model->>'name') AS model_name, d.name AS dataset_name,
            r.metric_aliased_name AS metric_name, r.metric_name AS metric, e.judge_model->>'name' AS judge_model,
            e.model->>'system_prompt' AS system_prompt, e.model->'sampling_params' AS sampling_params,
            e.model->'extra_params' AS extra_params,
            e.model AS model_def, e.judge_model AS judge_def, e.has_raw_output,
            (SELECT coalesce(jsonb_object_agg(o.metric_aliased_name,
                      CASE WHEN o.score_count > 0 THEN o.score_sum / o.score_count END), '{}')
             FROM result o WHERE o.experiment_id = e.id AND o.id <> r.id AND o.num_try > 0) AS other_metrics,
            r.score_count, r.score_sum, r.score_sumsq, r.score_min, r.score_max,
            ${isoTime('e.created_at')} AS created_at
     FROM result r JOIN experiment e ON e.id = r.experiment_id JOIN dataset d ON d.id = e.dataset_id
          LEFT JOIN experiment_set s ON s.id = e.experiment_set_id
     WHERE ${where.join(' AND ')}
     ORDER BY CASE WHEN r.score_count > 0 THEN r.score_sum / r.score_count END DESC NULLS LAST, e.id, r.id
     LIMIT $${values.push(f.limit)}`,
    values,
  );
  // One grouped query each for the answers' and the judge calls' tokens, over the listed experiments only.
  const tokens = await tokenTotals(db, [...new Set(rows.map((r) => r.experiment_id as number))]);
  return rows.map((row) => {
    const { rest, summary } = withSummary(row, row.metric);
    const { sampling_params, extra_params, metric, model_def, judge_def, has_raw_output, ...entry } = rest;
    const cost = experimentCost({ model: model_def, judge_model: judge_def, has_raw_output: Boolean(has_raw_output) }, tokens.get(row.experiment_id)!);
    return {
      ...entry,
      main_metric_score: summary.mean,
      sampling_param: asTextValues(sampling_params),
      extra_param: asTextValues(extra_params),
      summary,
      cost: { total: cost.total, answers: cost.answers.cost, judge: cost.judge.cost, per_answer: cost.answers.per_call, ...(cost.reason ? { reason: cost.reason } : {}) },
    };
  });
}

/** Evalap shows model parameters as text values (its UI prints them as they are). */
function asTextValues(params: unknown): Record<string, string> {
  if (!params || typeof params !== 'object' || Array.isArray(params)) return {};
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}
