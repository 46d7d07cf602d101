/**
 * Tool-using models (core/agents/): each answer keeps its `tool_steps`, as
 * Evalap stores them (JSON: one list per model turn that called tools, each
 * item {tool_name, tool_params, tool_result}, here with each call's
 * execution_time and is_error), null for an answer without tool calls.
 * The group-commit function, last defined by migration 008, is redefined to
 * carry the column; everything else in it, emission_carbon included, is as
 * 008 left it. A later migration that redefines evalap_commit_outcomes must
 * keep both.
 */
export default /* sql */ `
ALTER TABLE answer ADD COLUMN tool_steps jsonb;

CREATE OR REPLACE FUNCTION evalap_commit_outcomes(answers jsonb, observations jsonb, OUT skipped int[], OUT finished int[])
LANGUAGE plpgsql AS $fn$
DECLARE
  ids int[];
  live int[];
  result_ids int[];
BEGIN
  SELECT coalesce(array_agg(DISTINCT t.id), '{}') INTO ids FROM (
    SELECT (a->>'experiment_id')::int AS id FROM jsonb_array_elements(answers) a
    UNION ALL SELECT (o->>'experiment_id')::int FROM jsonb_array_elements(observations) o) t;
  -- Experiments are locked in id order, so concurrent committers never deadlock.
  SELECT coalesce(array_agg(l.id ORDER BY l.id), '{}') INTO live FROM (
    SELECT e.id, e.experiment_status FROM experiment e WHERE e.id = ANY(ids) ORDER BY e.id FOR UPDATE) l
  WHERE l.experiment_status <> 'stopped';
  skipped := ARRAY(SELECT unnest(ids) EXCEPT SELECT unnest(live) ORDER BY 1);

  WITH x AS (
    SELECT * FROM jsonb_to_recordset(answers) AS x(
      experiment_id int, num_line int, answer text, think text, context jsonb, retrieval_context jsonb,
      nb_tokens_prompt int, nb_tokens_completion int, nb_tool_calls int, execution_time int, error_msg text, num_try int,
      emission_carbon jsonb, tool_steps jsonb)
  ), up AS (
    INSERT INTO answer AS a (experiment_id, num_line, answer, think, context, retrieval_context, nb_tokens_prompt,
                             nb_tokens_completion, nb_tool_calls, execution_time, error_msg, num_try, emission_carbon, tool_steps)
    SELECT x.experiment_id, x.num_line, x.answer, x.think, x.context, x.retrieval_context, x.nb_tokens_prompt,
           x.nb_tokens_completion, x.nb_tool_calls, x.execution_time, x.error_msg, x.num_try, x.emission_carbon, x.tool_steps
    FROM x WHERE x.experiment_id = ANY(live)
    ON CONFLICT (experiment_id, num_line) DO UPDATE SET
      answer = EXCLUDED.answer, think = EXCLUDED.think, context = EXCLUDED.context, retrieval_context = EXCLUDED.retrieval_context,
      nb_tokens_prompt = EXCLUDED.nb_tokens_prompt, nb_tokens_completion = EXCLUDED.nb_tokens_completion,
      nb_tool_calls = EXCLUDED.nb_tool_calls, execution_time = EXCLUDED.execution_time, error_msg = NULL,
      emission_carbon = EXCLUDED.emission_carbon, tool_steps = EXCLUDED.tool_steps,
      num_try = a.num_try + EXCLUDED.num_try, created_at = now()
    WHERE a.error_msg IS NOT NULL AND EXCLUDED.error_msg IS NULL
    RETURNING a.experiment_id, (xmax = 0) AS inserted, (a.error_msg IS NULL) AS ok
  ), agg AS (
    SELECT up.experiment_id, count(*) FILTER (WHERE inserted)::int AS tries, count(*) FILTER (WHERE ok)::int AS successes
    FROM up GROUP BY up.experiment_id
  )
  UPDATE experiment e SET num_try = e.num_try + agg.tries, num_success = e.num_success + agg.successes, updated_at = now()
  FROM agg WHERE e.id = agg.experiment_id;

  result_ids := ARRAY(
    SELECT DISTINCT (o->>'result_id')::int FROM jsonb_array_elements(observations) o
    WHERE (o->>'experiment_id')::int = ANY(live) ORDER BY 1);
  IF cardinality(result_ids) > 0 THEN
    -- Results too are locked in id order before the statement updates them.
    PERFORM 1 FROM (SELECT r.id FROM result r WHERE r.id = ANY(result_ids) ORDER BY r.id FOR UPDATE) locked;
    WITH x AS (
      SELECT * FROM jsonb_to_recordset(observations) AS x(
        result_id int, num_line int, score float8, observation jsonb, error_msg text, execution_time int, num_try int,
        emission_carbon jsonb)
    ), up AS (
      INSERT INTO observation AS o (result_id, num_line, score, observation, error_msg, execution_time, num_try, emission_carbon)
      SELECT x.result_id, x.num_line, x.score, x.observation, x.error_msg, x.execution_time, x.num_try, x.emission_carbon
      FROM x WHERE x.result_id = ANY(result_ids)
      ON CONFLICT (result_id, num_line) DO UPDATE SET
        score = EXCLUDED.score, observation = EXCLUDED.observation, error_msg = NULL,
        execution_time = EXCLUDED.execution_time, num_try = o.num_try + EXCLUDED.num_try, created_at = now(),
        emission_carbon = EXCLUDED.emission_carbon
      WHERE o.error_msg IS NOT NULL AND EXCLUDED.error_msg IS NULL
      RETURNING o.result_id, (xmax = 0) AS inserted, (o.error_msg IS NULL) AS ok, o.score, o.observation->'corpus_stats' AS cs
    ), vec AS (
      -- Element-wise sums of the new rows' corpus statistics, per result.
      SELECT t.result_id, array_agg(t.s ORDER BY t.i) AS v FROM (
        SELECT up.result_id, e.i, sum(e.val::float8) AS s
        FROM up, jsonb_array_elements_text(up.cs) WITH ORDINALITY AS e(val, i)
        WHERE up.ok AND jsonb_typeof(up.cs) = 'array'
        GROUP BY up.result_id, e.i) t
      GROUP BY t.result_id
    ), agg AS (
      SELECT up.result_id,
             count(*) FILTER (WHERE inserted)::int AS tries, count(*) FILTER (WHERE ok)::int AS successes,
             count(up.score) FILTER (WHERE ok)::int AS n, coalesce(sum(up.score) FILTER (WHERE ok), 0) AS s,
             coalesce(sum(up.score * up.score) FILTER (WHERE ok), 0) AS ss,
             min(up.score) FILTER (WHERE ok) AS lo, max(up.score) FILTER (WHERE ok) AS hi
      FROM up GROUP BY up.result_id
    )
    UPDATE result r SET num_try = r.num_try + agg.tries, num_success = r.num_success + agg.successes,
           score_count = r.score_count + agg.n, score_sum = r.score_sum + agg.s, score_sumsq = r.score_sumsq + agg.ss,
           score_min = least(r.score_min, agg.lo), score_max = greatest(r.score_max, agg.hi),
           metric_status = CASE WHEN r.metric_status = 'pending' THEN 'running' ELSE r.metric_status END,
           corpus_stats = CASE WHEN vec.v IS NULL THEN r.corpus_stats WHEN r.corpus_stats IS NULL THEN vec.v
                               ELSE (SELECT array_agg(coalesce(p.a, 0) + coalesce(p.b, 0) ORDER BY p.i) FROM unnest(r.corpus_stats, vec.v) WITH ORDINALITY AS p(a, b, i)) END
    FROM agg LEFT JOIN vec USING (result_id) WHERE r.id = agg.result_id;
  END IF;

  -- Statuses only move when an experiment leaves 'pending' or has tried every row (a result
  -- never has more rows tried than its experiment has answers): most commits skip the updates.
  IF EXISTS (SELECT 1 FROM experiment e WHERE e.id = ANY(live) AND (e.experiment_status <> 'running_answers' OR e.num_try >= e.num_total)) THEN
    finished := evalap_advance(live);
  ELSE
    finished := '{}';
  END IF;
END $fn$;
`;
