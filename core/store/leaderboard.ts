/** The leaderboard reads the aggregates stored on each result: no scan of observations. */
import type { Db } from './db.js';
import { isoTime, withSummary } from './sql.js';

export interface LeaderboardFilter {
  metricName?: string;
  datasetName?: string;
  judgeModel?: string;
  limit: number;
}

export async function leaderboard(db: Db, f: LeaderboardFilter) {
  const where = ['r.score_count > 0'];
  const values: unknown[] = [];
  if (f.metricName) where.push(`r.metric_aliased_name = $${values.push(f.metricName)}`);
  if (f.datasetName) where.push(`d.name = $${values.push(f.datasetName)}`);
  if (f.judgeModel) where.push(`e.judge_model->>'name' = $${values.push(f.judgeModel)}`);
  const { rows } = await db.query(
    `SELECT e.id AS experiment_id, e.name AS experiment_name, e.experiment_set_id,
            coalesce(nullif(e.model->>'aliased_name', ''), e.model->>'name') AS model_name, d.name AS dataset_name,
            r.metric_aliased_name AS metric_name, e.judge_model->>'name' AS judge_model,
            r.score_count, r.score_sum, r.score_sumsq, r.score_min, r.score_max,
            ${isoTime('e.created_at')} AS created_at
     FROM result r JOIN experiment e ON e.id = r.experiment_id JOIN dataset d ON d.id = e.dataset_id
     WHERE ${where.join(' AND ')}
     ORDER BY r.score_sum / r.score_count DESC, e.id
     LIMIT $${values.push(f.limit)}`,
    values,
  );
  return rows.map((row) => {
    const { rest, summary } = withSummary(row);
    return { ...rest, summary };
  });
}
