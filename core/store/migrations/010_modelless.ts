/**
 * Experiments without a model, for metrics that read the dataset row alone
 * (Evalap's dataset metrics, such as judge_complexity): their model is NULL,
 * and they have no answers to generate, so their counters of answers stay at
 * 0 (Evalap counts answers there, and there are none) and their status goes
 * from `pending` straight to `running_metrics`. evalap_advance is 004's but
 * for that: an experiment with a model runs its answers until every one was
 * tried; one without goes on to its metrics. (evalap_commit_outcomes skips
 * advancing an experiment in running_answers until all its answers are
 * tried: one without a model must never stay in that status, and does not.)
 */
export default /* sql */ `
ALTER TABLE experiment ALTER COLUMN model DROP NOT NULL;

CREATE OR REPLACE FUNCTION evalap_advance(ids int[]) RETURNS int[] LANGUAGE plpgsql AS $fn$
DECLARE
  done int[];
BEGIN
  UPDATE result r SET metric_status = 'finished'
  FROM experiment e WHERE e.id = r.experiment_id AND r.experiment_id = ANY(ids)
    AND r.metric_status NOT IN ('finished', 'stopped') AND r.num_try >= e.num_total;
  WITH moved AS (
    UPDATE experiment e SET updated_at = now(), experiment_status = CASE
        WHEN e.model IS NOT NULL AND e.num_try < e.num_total THEN 'running_answers'
        WHEN EXISTS (SELECT 1 FROM result r WHERE r.experiment_id = e.id AND r.metric_status <> 'finished') THEN 'running_metrics'
        ELSE 'finished' END
    WHERE e.id = ANY(ids) AND e.experiment_status NOT IN ('stopped', 'finished')
    RETURNING e.id, e.experiment_status)
  SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO done FROM moved WHERE experiment_status = 'finished';
  RETURN done;
END $fn$;
`;
