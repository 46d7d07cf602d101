/**
 * Budget caps (issue 17): an experiment's, or a set's, `max_cost` (USD) and
 * `max_tokens_total` (prompt + completion tokens of the answers and of the
 * judge calls). Running totals live on the experiment row, kept by the group
 * commit in the transaction that records the calls, so a cap is weighed
 * without reading the rows (an experiment may have a million):
 * used_prompt_tokens and used_completion_tokens for the answers the platform
 * generated (outputs brought with the experiment were paid for elsewhere),
 * used_judge_* for the judge calls (the observations' judge_usage). They add
 * what each committed row carries, once: a redelivered outcome writes
 * nothing, so adds nothing; a failure replaced by a success adds the
 * success's tokens too (both calls were paid for), and rows deleted by a
 * retry or a rerun stay counted. They are spending, not a sum of the rows.
 * Experiments that existed before this migration get NULL totals, unknown,
 * not 0 (counting their rows here could outlast the Data API's statement
 * limit): they stay unknown, and a cap cannot be put on them.
 *
 * The cost of the totals is at the prices pinned in the model and judge
 * definitions at launch (core/cost/price-in-force.ts), every prompt token at
 * the input price (no cached-token counts are stored), as core/cost/cost.ts
 * computes it; core/cost/budget.ts is the same arithmetic for reading.
 *
 * evalap_commit_outcomes is 015's, with these changes only (whatever else is
 * in it, emission_carbon and tool_steps included, is as 015 left it):
 * - it adds the committed rows' tokens to the totals;
 * - with the batch's experiments it locks every experiment of their sets
 *   that have a cap, in the same id order, so two commits to one set never
 *   both read its total below the cap;
 * - after the statuses move on, an experiment (or every unfinished
 *   experiment of a set) whose totals reached a cap is stopped, with
 *   stopped_by 'budget' and the reason (evalap_stop);
 * - the outcomes of an experiment stopped by its budget are still recorded
 *   (they are calls in flight when it stopped, paid for: a manual stop's are
 *   dropped, as before), and a new OUT `stopped` lists the experiments of the
 *   commit (and of their capped sets) stopped by a budget, so the runner
 *   drops their queued tasks.
 * Its OUT columns change, so it is dropped and created again. A later
 * migration that redefines it must keep all of this.
 */
export default /* sql */ `
ALTER TABLE experiment_set
  ADD COLUMN max_cost float8 CHECK (max_cost > 0),
  ADD COLUMN max_tokens_total bigint CHECK (max_tokens_total > 0);

ALTER TABLE experiment
  ADD COLUMN max_cost float8 CHECK (max_cost > 0),
  ADD COLUMN max_tokens_total bigint CHECK (max_tokens_total > 0),
  ADD COLUMN used_prompt_tokens bigint,
  ADD COLUMN used_completion_tokens bigint,
  ADD COLUMN used_judge_prompt_tokens bigint,
  ADD COLUMN used_judge_completion_tokens bigint,
  ADD COLUMN stopped_by text CHECK (stopped_by IN ('request', 'budget')),
  ADD COLUMN stop_reason text;
-- Existing experiments keep NULL (unknown) totals; new ones count from 0.
ALTER TABLE experiment
  ALTER COLUMN used_prompt_tokens SET DEFAULT 0,
  ALTER COLUMN used_completion_tokens SET DEFAULT 0,
  ALTER COLUMN used_judge_prompt_tokens SET DEFAULT 0,
  ALTER COLUMN used_judge_completion_tokens SET DEFAULT 0;
-- Every stop so far was asked for.
UPDATE experiment SET stopped_by = 'request', stop_reason = 'stopped by request' WHERE experiment_status = 'stopped';

-- A count in a judge's usage, 0 when absent or not a plausible token count (a provider's odd reply must not make the outcome unstorable).
CREATE FUNCTION evalap_usage_tokens(usage jsonb, field text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE WHEN jsonb_typeof(usage->field) = 'number' THEN
    CASE WHEN (usage->>field)::numeric BETWEEN 0 AND 1e15 THEN round((usage->>field)::numeric)::bigint ELSE 0 END
  ELSE 0 END
$fn$;

-- USD of tokens at a definition's pinned prices (per million); 0 without tokens, NULL when tokens have no price.
CREATE FUNCTION evalap_call_cost(prompt_tokens bigint, completion_tokens bigint, model jsonb) RETURNS float8 LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE
    WHEN prompt_tokens = 0 AND completion_tokens = 0 THEN 0
    WHEN jsonb_typeof(model->'prices'->'input') = 'number' AND jsonb_typeof(model->'prices'->'output') = 'number'
      THEN (prompt_tokens * (model->'prices'->>'input')::float8 + completion_tokens * (model->'prices'->>'output')::float8) / 1000000
  END
$fn$;

-- What experiments spent, by part.
CREATE FUNCTION evalap_spent(ids int[])
RETURNS TABLE (experiment_id int, set_id int, max_cost float8, max_tokens_total bigint, answer_tokens bigint, judge_tokens bigint, answer_cost float8, judge_cost float8)
LANGUAGE sql STABLE AS $fn$
  SELECT e.id, e.experiment_set_id, e.max_cost, e.max_tokens_total,
         e.used_prompt_tokens + e.used_completion_tokens, e.used_judge_prompt_tokens + e.used_judge_completion_tokens,
         CASE WHEN e.has_raw_output THEN 0 ELSE evalap_call_cost(e.used_prompt_tokens, e.used_completion_tokens, e.model) END,
         evalap_call_cost(e.used_judge_prompt_tokens, e.used_judge_completion_tokens, e.judge_model)
  FROM experiment e WHERE e.id = ANY(ids)
$fn$;

-- A USD figure as the reasons show it: rounded to the millionth, no trailing zeros.
CREATE FUNCTION evalap_usd(v float8) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
  SELECT rtrim(rtrim(round(v::numeric, 6)::text, '0'), '.')
$fn$;

-- Why a cap is reached (both caps, joined by '; '), or NULL. whose: '' or the set's; spender: after "spent".
CREATE FUNCTION evalap_cap_reason(whose text, cost_cap float8, token_cap bigint, answer_cost float8, judge_cost float8, answer_tokens bigint, judge_tokens bigint, spender text)
RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
  SELECT nullif(concat_ws('; ',
    CASE WHEN cost_cap IS NOT NULL AND answer_cost + judge_cost >= cost_cap THEN
      format('%smax_cost of %s USD reached: %s USD spent%s (answers %s, judge %s)', whose, evalap_usd(cost_cap),
             evalap_usd(answer_cost + judge_cost), spender, evalap_usd(answer_cost), evalap_usd(judge_cost)) END,
    CASE WHEN token_cap IS NOT NULL AND answer_tokens + judge_tokens >= token_cap THEN
      format('%smax_tokens_total of %s reached: %s tokens used%s (answers %s, judge %s)', whose, token_cap,
             answer_tokens + judge_tokens, spender, answer_tokens, judge_tokens) END), '')
$fn$;

-- Stops those of the experiments that have not finished, and their unfinished results; returns their ids.
-- The one stop: a request's (core/store/experiments.ts) and a budget's.
CREATE FUNCTION evalap_stop(ids int[], stopper text, reason text) RETURNS SETOF int LANGUAGE sql AS $fn$
  WITH stopped AS (
    UPDATE experiment SET experiment_status = 'stopped', stopped_by = stopper, stop_reason = reason, updated_at = now()
    WHERE id = ANY(ids) AND experiment_status NOT IN ('finished', 'stopped') RETURNING id
  ), results AS (
    UPDATE result SET metric_status = 'stopped' WHERE experiment_id IN (SELECT id FROM stopped) AND metric_status <> 'finished'
  )
  SELECT id FROM stopped ORDER BY id
$fn$;

-- Stops what reached a cap: each of the experiments \`ids\` by its own caps, then every experiment of their
-- sets by the set's, over all its experiments. The caller holds the locks of all of them.
CREATE FUNCTION evalap_budget_stop(ids int[]) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT s.experiment_id AS id, evalap_cap_reason('', s.max_cost, s.max_tokens_total, s.answer_cost, s.judge_cost, s.answer_tokens, s.judge_tokens, '') AS reason
    FROM evalap_spent(ids) s WHERE s.max_cost IS NOT NULL OR s.max_tokens_total IS NOT NULL
  LOOP
    IF r.reason IS NOT NULL THEN PERFORM count(*) FROM evalap_stop(ARRAY[r.id], 'budget', r.reason); END IF;
  END LOOP;
  FOR r IN
    SELECT array_agg(s.experiment_id) AS members,
           evalap_cap_reason('the experiment set''s ', st.max_cost, st.max_tokens_total,
             -- A set's cost is unknown as soon as one experiment's is.
             CASE WHEN count(*) = count(s.answer_cost) THEN sum(s.answer_cost) END,
             CASE WHEN count(*) = count(s.judge_cost) THEN sum(s.judge_cost) END,
             CASE WHEN count(*) = count(s.answer_tokens) THEN sum(s.answer_tokens)::bigint END,
             CASE WHEN count(*) = count(s.judge_tokens) THEN sum(s.judge_tokens)::bigint END,
             format(' by its %s experiments', count(*))) AS reason
    FROM experiment_set st
    CROSS JOIN LATERAL evalap_spent(ARRAY(SELECT m.id FROM experiment m WHERE m.experiment_set_id = st.id)) s
    WHERE (st.max_cost IS NOT NULL OR st.max_tokens_total IS NOT NULL)
      AND st.id IN (SELECT e.experiment_set_id FROM experiment e WHERE e.id = ANY(ids))
    GROUP BY st.id, st.max_cost, st.max_tokens_total
  LOOP
    IF r.reason IS NOT NULL THEN PERFORM count(*) FROM evalap_stop(r.members, 'budget', r.reason); END IF;
  END LOOP;
END $fn$;

DROP FUNCTION evalap_commit_outcomes(jsonb, jsonb);

CREATE FUNCTION evalap_commit_outcomes(answers jsonb, observations jsonb, OUT skipped int[], OUT finished int[], OUT stopped int[])
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
    RETURNING a.experiment_id, (xmax = 0) AS inserted, (a.error_msg IS NULL) AS ok,
              a.nb_tokens_prompt AS prompt_tokens, a.nb_tokens_completion AS completion_tokens
  ), agg AS (
    SELECT up.experiment_id, count(*) FILTER (WHERE inserted)::int AS tries, count(*) FILTER (WHERE ok)::int AS successes,
           coalesce(sum(up.prompt_tokens), 0) AS prompt_tokens, coalesce(sum(up.completion_tokens), 0) AS completion_tokens
    FROM up GROUP BY up.experiment_id
  )
  UPDATE experiment e SET num_try = e.num_try + agg.tries, num_success = e.num_success + agg.successes,
         -- Each row written adds its call's tokens; outputs brought with the experiment were paid for elsewhere.
         used_prompt_tokens = e.used_prompt_tokens + CASE WHEN e.has_raw_output THEN 0 ELSE agg.prompt_tokens END,
         used_completion_tokens = e.used_completion_tokens + CASE WHEN e.has_raw_output THEN 0 ELSE agg.completion_tokens END,
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
             sum(evalap_usage_tokens(up.usage, 'completion_tokens')) AS completion_tokens
      FROM up JOIN result r ON r.id = up.result_id WHERE jsonb_typeof(up.usage) = 'object' GROUP BY r.experiment_id
    ), charged AS (
      UPDATE experiment e SET used_judge_prompt_tokens = e.used_judge_prompt_tokens + judged.prompt_tokens,
             used_judge_completion_tokens = e.used_judge_completion_tokens + judged.completion_tokens
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
