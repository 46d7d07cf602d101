/** Platform-wide counts for Evalap's ops view, read from the counters: no scan of answers or observations. */
import type { Db } from './db.js';

export async function opsCounts(db: Db) {
  const { rows } = await db.query<{
    experiment_sets: number;
    unique_experiments: number;
    unique_answers: number;
    unique_metrics: number;
    unique_observations: number;
    unique_datasets: number;
  }>(
    // An experiment's num_try is the number of its answer rows, a result's the number of its observation rows.
    `SELECT (SELECT count(*) FROM experiment_set)::int AS experiment_sets,
            e.n AS unique_experiments, e.answers AS unique_answers,
            r.n AS unique_metrics, r.observations AS unique_observations,
            (SELECT count(*) FROM dataset)::int AS unique_datasets
     FROM (SELECT count(*)::int AS n, coalesce(sum(num_try), 0)::int AS answers FROM experiment) e,
          (SELECT count(*)::int AS n, coalesce(sum(num_try), 0)::int AS observations FROM result) r`,
  );
  // Evalap lists its model rows, judges included.
  const models = await db.query<{ name: string; aliased_name: string | null }>(
    `SELECT DISTINCT m->>'name' AS name, nullif(m->>'aliased_name', '') AS aliased_name
     FROM experiment e, LATERAL (VALUES (e.model), (e.judge_model)) AS v(m)
     WHERE m IS NOT NULL ORDER BY 1, 2`,
  );
  return { ...rows[0], distinct_models: models.rows };
}
