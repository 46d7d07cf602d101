/**
 * Cached prompt tokens (issue 17): of an answer's or a judge call's prompt
 * tokens, those the provider served from its prompt cache, which it bills at
 * its cached-input price (core/providers/openai.ts reads them from the reply).
 * - answer.nb_tokens_cached: NULL when the provider did not say (and for
 *   every answer stored before this migration); a judge call's are in the
 *   observation's judge_usage.cached_tokens, when reported.
 * - experiment.used_cached_prompt_tokens and used_judge_cached_prompt_tokens:
 *   running totals beside 016's, of the same calls and kept the same way.
 *   They start at 0 for experiments whose totals are known (their cached
 *   tokens were never recorded: every prompt token counted at the input
 *   price, as it was priced) and stay NULL for those whose totals are not.
 * - evalap_call_cost prices the cached part of the prompt tokens at the
 *   pinned `cached_input` (at `input` where the definition has none), as
 *   core/cost/cost.ts callCost does, so the cap weighs what `cost` shows; it
 *   takes the cached count as a new argument, so the old one is dropped once
 *   evalap_spent, its one caller, uses the new one.
 *
 * evalap_commit_outcomes is 016's, with these changes only (everything else,
 * its locks, budget stops, emission_carbon and tool_steps included, is as
 * 016 left it): it stores each answer's nb_tokens_cached, with the rest of
 * the answer when a success replaces a failure; and it adds the committed
 * answers' cached tokens (not those of outputs brought with the experiment)
 * and the judge calls' (judge_usage.cached_tokens) to the new totals. Its OUT
 * columns are 016's, so it is replaced in place. A later migration that
 * redefines it must keep all of this.
 */
export default /* sql */ `
ALTER TABLE answer ADD COLUMN nb_tokens_cached integer;

ALTER TABLE experiment
  ADD COLUMN used_cached_prompt_tokens bigint,
  ADD COLUMN used_judge_cached_prompt_tokens bigint;
UPDATE experiment SET used_cached_prompt_tokens = 0, used_judge_cached_prompt_tokens = 0 WHERE used_prompt_tokens IS NOT NULL;
ALTER TABLE experiment
  ALTER COLUMN used_cached_prompt_tokens SET DEFAULT 0,
  ALTER COLUMN used_judge_cached_prompt_tokens SET DEFAULT 0;

-- USD of tokens at a definition's pinned prices (per million): the cached part of the prompt (NULL: none) at
-- cached_input, else at input; 0 without tokens, NULL when tokens have no price.
CREATE FUNCTION evalap_call_cost(prompt_tokens bigint, cached_prompt_tokens bigint, completion_tokens bigint, model jsonb) RETURNS float8 LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE
    WHEN prompt_tokens = 0 AND completion_tokens = 0 THEN 0
    WHEN jsonb_typeof(model->'prices'->'input') = 'number' AND jsonb_typeof(model->'prices'->'output') = 'number'
      THEN ((prompt_tokens - c.cached) * (model->'prices'->>'input')::float8
            + c.cached * CASE WHEN jsonb_typeof(model->'prices'->'cached_input') = 'number'
                              THEN (model->'prices'->>'cached_input')::float8 ELSE (model->'prices'->>'input')::float8 END
            + completion_tokens * (model->'prices'->>'output')::float8) / 1000000
  END
  FROM (SELECT least(coalesce(cached_prompt_tokens, 0), prompt_tokens) AS cached) c
$fn$;

-- What experiments spent, by part: 016's, its cached prompt tokens priced as such.
CREATE OR REPLACE FUNCTION evalap_spent(ids int[])
RETURNS TABLE (experiment_id int, set_id int, max_cost float8, max_tokens_total bigint, answer_tokens bigint, judge_tokens bigint, answer_cost float8, judge_cost float8)
LANGUAGE sql STABLE AS $fn$
  SELECT e.id, e.experiment_set_id, e.max_cost, e.max_tokens_total,
         e.used_prompt_tokens + e.used_completion_tokens, e.used_judge_prompt_tokens + e.used_judge_completion_tokens,
         CASE WHEN e.has_raw_output THEN 0 ELSE evalap_call_cost(e.used_prompt_tokens, e.used_cached_prompt_tokens, e.used_completion_tokens, e.model) END,
         evalap_call_cost(e.used_judge_prompt_tokens, e.used_judge_cached_prompt_tokens, e.used_judge_completion_tokens, e.judge_model)
  FROM experiment e WHERE e.id = ANY(ids)
$fn$;

DROP FUNCTION evalap_call_cost(bigint, bigint, jsonb);

CREATE OR REPLACE FUNCTION evalap_commit_outcomes(answers jsonb, observations jsonb, OUT skipped int[], OUT finished int[], OUT stopped int[])
LANGUAGE plpgsql AS $fn$
DECLARE
  ids int[];
  members int[];
  live int[];
  result_ids int[];
BEGIN
  SELECT coalesce(array_agg(DISTINCT t.id), '{}') INTO ids FROM (
    SELECT (a->>'experiment_id')::int AS id FROM jsonb_array_elements(answers) a
    UNION ALL SELECT (o->>'experiment_id')::int FROM jsonb_array_elements(observations) o) t;
  -- A set with a cap is weighed against all its experiments: they are locked with the batch's.
  members := ARRAY(
    SELECT m.id FROM experiment_set s JOIN experiment m ON m.experiment_set_id = s.id
    WHERE (s.max_cost IS NOT NULL OR s.max_tokens_total IS NOT NULL)
      AND s.id IN (SELECT e.experiment_set_id FROM experiment e WHERE e.id = ANY(ids)));
  -- Experiments are locked in id order, so concurrent committers never deadlock. Those stopped by a
  -- request drop their outcomes; those stopped by their budget record them (calls in flight, paid for).
  SELECT coalesce(array_agg(l.id ORDER BY l.id) FILTER (WHERE l.id = ANY(ids) AND (l.experiment_status <> 'stopped' OR l.stopped_by = 'budget')), '{}')
  INTO live FROM (
    SELECT e.id, e.experiment_status, e.stopped_by FROM experiment e WHERE e.id = ANY(ids || members) ORDER BY e.id FOR UPDATE) l;
  skipped := ARRAY(SELECT unnest(ids) EXCEPT SELECT unnest(live) ORDER BY 1);

  WITH x AS (
    SELECT * FROM jsonb_to_recordset(answers) AS x(
      experiment_id int, num_line int, answer text, think text, context jsonb, retrieval_context jsonb,
      nb_tokens_prompt int, nb_tokens_completion int, nb_tool_calls int, execution_time int, error_msg text, num_try int,
      emission_carbon jsonb, tool_steps jsonb, nb_tokens_cached int)
  ), up AS (
    INSERT INTO answer AS a (experiment_id, num_line, answer, think, context, retrieval_context, nb_tokens_prompt,
                             nb_tokens_completion, nb_tool_calls, execution_time, error_msg, num_try, emission_carbon, tool_steps,
                             nb_tokens_cached)
    SELECT x.experiment_id, x.num_line, x.answer, x.think, x.context, x.retrieval_context, x.nb_tokens_prompt,
           x.nb_tokens_completion, x.nb_tool_calls, x.execution_time, x.error_msg, x.num_try, x.emission_carbon, x.tool_steps,
           x.nb_tokens_cached
    FROM x WHERE x.experiment_id = ANY(live)
    ON CONFLICT (experiment_id, num_line) DO UPDATE SET
      answer = EXCLUDED.answer, think = EXCLUDED.think, context = EXCLUDED.context, retrieval_context = EXCLUDED.retrieval_context,
      nb_tokens_prompt = EXCLUDED.nb_tokens_prompt, nb_tokens_completion = EXCLUDED.nb_tokens_completion,
      nb_tokens_cached = EXCLUDED.nb_tokens_cached,
      nb_tool_calls = EXCLUDED.nb_tool_calls, execution_time = EXCLUDED.execution_time, error_msg = NULL,
      emission_carbon = EXCLUDED.emission_carbon, tool_steps = EXCLUDED.tool_steps,
      num_try = a.num_try + EXCLUDED.num_try, created_at = now()
    WHERE a.error_msg IS NOT NULL AND EXCLUDED.error_msg IS NULL
    RETURNING a.experiment_id, (xmax = 0) AS inserted, (a.error_msg IS NULL) AS ok,
              a.nb_tokens_prompt AS prompt_tokens, a.nb_tokens_completion AS completion_tokens, a.nb_tokens_cached AS cached_tokens
  ), agg AS (
    SELECT up.experiment_id, count(*) FILTER (WHERE inserted)::int AS tries, count(*) FILTER (WHERE ok)::int AS successes,
           coalesce(sum(up.prompt_tokens), 0) AS prompt_tokens, coalesce(sum(up.completion_tokens), 0) AS completion_tokens,
           coalesce(sum(up.cached_tokens), 0) AS cached_tokens
    FROM up GROUP BY up.experiment_id
  )
  UPDATE experiment e SET num_try = e.num_try + agg.tries, num_success = e.num_success + agg.successes,
         -- Each row written adds its call's tokens; outputs brought with the experiment were paid for elsewhere.
         used_prompt_tokens = e.used_prompt_tokens + CASE WHEN e.has_raw_output THEN 0 ELSE agg.prompt_tokens END,
         used_completion_tokens = e.used_completion_tokens + CASE WHEN e.has_raw_output THEN 0 ELSE agg.completion_tokens END,
         used_cached_prompt_tokens = e.used_cached_prompt_tokens + CASE WHEN e.has_raw_output THEN 0 ELSE agg.cached_tokens END,
         updated_at = now()
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
      RETURNING o.result_id, (xmax = 0) AS inserted, (o.error_msg IS NULL) AS ok, o.score, o.observation->'corpus_stats' AS cs,
                o.observation->'judge_usage' AS usage
    ), vec AS (
      -- Element-wise sums of the new rows' corpus statistics, per result.
      SELECT t.result_id, array_agg(t.s ORDER BY t.i) AS v FROM (
        SELECT up.result_id, e.i, sum(e.val::float8) AS s
        FROM up, jsonb_array_elements_text(up.cs) WITH ORDINALITY AS e(val, i)
        WHERE up.ok AND jsonb_typeof(up.cs) = 'array'
        GROUP BY up.result_id, e.i) t
      GROUP BY t.result_id
    ), judged AS (
      -- The judge calls' tokens of the rows written, per experiment.
      SELECT r.experiment_id, sum(evalap_usage_tokens(up.usage, 'prompt_tokens')) AS prompt_tokens,
             sum(evalap_usage_tokens(up.usage, 'completion_tokens')) AS completion_tokens,
             sum(evalap_usage_tokens(up.usage, 'cached_tokens')) AS cached_tokens
      FROM up JOIN result r ON r.id = up.result_id WHERE jsonb_typeof(up.usage) = 'object' GROUP BY r.experiment_id
    ), charged AS (
      UPDATE experiment e SET used_judge_prompt_tokens = e.used_judge_prompt_tokens + judged.prompt_tokens,
             used_judge_completion_tokens = e.used_judge_completion_tokens + judged.completion_tokens,
             used_judge_cached_prompt_tokens = e.used_judge_cached_prompt_tokens + judged.cached_tokens
      FROM judged WHERE e.id = judged.experiment_id
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

  -- Budgets: after the statuses moved on, so an experiment this commit finished stays finished.
  IF cardinality(members) > 0 OR EXISTS (
    SELECT 1 FROM experiment e WHERE e.id = ANY(live) AND (e.max_cost IS NOT NULL OR e.max_tokens_total IS NOT NULL OR e.stopped_by = 'budget')) THEN
    PERFORM evalap_budget_stop(live);
    stopped := ARRAY(SELECT e.id FROM experiment e WHERE e.id = ANY(live || members) AND e.experiment_status = 'stopped' AND e.stopped_by = 'budget' ORDER BY e.id);
  ELSE
    stopped := '{}';
  END IF;
END $fn$;
`;
