/**
 * Group commit of task outcomes. One transaction stores a batch of answers
 * and observations in their terminal state, updates the counters and score
 * aggregates of their experiments and results, and moves statuses on: the
 * transaction that reaches a total marks the result, then the experiment,
 * finished. Writes are idempotent: a redelivered outcome changes nothing, and
 * only a success ever replaces a stored failure, never the reverse.
 */
import type pg from 'pg';
import { inTransaction } from './pool.js';

export interface AnswerOutcome {
  experiment_id: number;
  num_line: number;
  answer: string | null;
  think?: string | null;
  context?: unknown;
  retrieval_context?: unknown;
  nb_tokens_prompt?: number | null;
  nb_tokens_completion?: number | null;
  nb_tool_calls?: number | null;
  execution_time?: number | null;
  /** Set when the answer failed for good. */
  error_msg: string | null;
  /** Attempts this outcome took. */
  num_try: number;
}

export interface ObservationOutcome {
  result_id: number;
  num_line: number;
  score: number | null;
  observation?: unknown;
  error_msg: string | null;
  execution_time?: number | null;
  num_try: number;
}

export interface CommitSummary {
  /** Experiments whose outcomes were dropped because they are stopped or gone. */
  skippedExperiments: number[];
  /** Experiments that reached `finished` in this transaction. */
  finished: number[];
}

/** Keeps one outcome per key, preferring a success: one statement may not touch a row twice. */
function dedupe<T extends { error_msg: string | null }>(items: readonly T[], key: (t: T) => string): T[] {
  const out = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    const seen = out.get(k);
    if (!seen || (seen.error_msg !== null && item.error_msg === null)) out.set(k, item);
  }
  return [...out.values()];
}

const STORE_ANSWERS = `
WITH x AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    experiment_id int, num_line int, answer text, think text, context jsonb, retrieval_context jsonb,
    nb_tokens_prompt int, nb_tokens_completion int, nb_tool_calls int, execution_time int, error_msg text, num_try int)
), up AS (
  INSERT INTO answer AS a (experiment_id, num_line, answer, think, context, retrieval_context, nb_tokens_prompt,
                           nb_tokens_completion, nb_tool_calls, execution_time, error_msg, num_try)
  SELECT x.experiment_id, x.num_line, x.answer, x.think, x.context, x.retrieval_context, x.nb_tokens_prompt,
         x.nb_tokens_completion, x.nb_tool_calls, x.execution_time, x.error_msg, x.num_try
  FROM x WHERE x.experiment_id = ANY($2::int[])
  ON CONFLICT (experiment_id, num_line) DO UPDATE SET
    answer = EXCLUDED.answer, think = EXCLUDED.think, context = EXCLUDED.context, retrieval_context = EXCLUDED.retrieval_context,
    nb_tokens_prompt = EXCLUDED.nb_tokens_prompt, nb_tokens_completion = EXCLUDED.nb_tokens_completion,
    nb_tool_calls = EXCLUDED.nb_tool_calls, execution_time = EXCLUDED.execution_time, error_msg = NULL,
    num_try = a.num_try + EXCLUDED.num_try, created_at = now()
  WHERE a.error_msg IS NOT NULL AND EXCLUDED.error_msg IS NULL
  RETURNING a.experiment_id, (xmax = 0) AS inserted, (a.error_msg IS NULL) AS ok
), agg AS (
  SELECT experiment_id, count(*) FILTER (WHERE inserted)::int AS tries, count(*) FILTER (WHERE ok)::int AS successes
  FROM up GROUP BY experiment_id
)
UPDATE experiment e SET num_try = e.num_try + agg.tries, num_success = e.num_success + agg.successes, updated_at = now()
FROM agg WHERE e.id = agg.experiment_id`;

const STORE_OBSERVATIONS = `
WITH x AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    result_id int, num_line int, score float8, observation jsonb, error_msg text, execution_time int, num_try int)
), up AS (
  INSERT INTO observation AS o (result_id, num_line, score, observation, error_msg, execution_time, num_try)
  SELECT x.result_id, x.num_line, x.score, x.observation, x.error_msg, x.execution_time, x.num_try
  FROM x WHERE x.result_id = ANY($2::int[])
  ON CONFLICT (result_id, num_line) DO UPDATE SET
    score = EXCLUDED.score, observation = EXCLUDED.observation, error_msg = NULL,
    execution_time = EXCLUDED.execution_time, num_try = o.num_try + EXCLUDED.num_try, created_at = now()
  WHERE o.error_msg IS NOT NULL AND EXCLUDED.error_msg IS NULL
  RETURNING o.result_id, (xmax = 0) AS inserted, (o.error_msg IS NULL) AS ok, o.score, o.observation->'corpus_stats' AS cs
), vec AS (
  -- Element-wise sums of the new rows' corpus statistics, per result.
  SELECT result_id, array_agg(s ORDER BY i) AS v FROM (
    SELECT up.result_id, e.i, sum(e.val::float8) AS s
    FROM up, jsonb_array_elements_text(up.cs) WITH ORDINALITY AS e(val, i)
    WHERE up.ok AND jsonb_typeof(up.cs) = 'array'
    GROUP BY up.result_id, e.i) t
  GROUP BY result_id
), agg AS (
  SELECT result_id,
         count(*) FILTER (WHERE inserted)::int AS tries, count(*) FILTER (WHERE ok)::int AS successes,
         count(score) FILTER (WHERE ok)::int AS n, coalesce(sum(score) FILTER (WHERE ok), 0) AS s,
         coalesce(sum(score * score) FILTER (WHERE ok), 0) AS ss,
         min(score) FILTER (WHERE ok) AS lo, max(score) FILTER (WHERE ok) AS hi
  FROM up GROUP BY result_id
)
UPDATE result r SET num_try = r.num_try + agg.tries, num_success = r.num_success + agg.successes,
       score_count = r.score_count + agg.n, score_sum = r.score_sum + agg.s, score_sumsq = r.score_sumsq + agg.ss,
       score_min = least(r.score_min, agg.lo), score_max = greatest(r.score_max, agg.hi),
       metric_status = CASE WHEN r.metric_status = 'pending' THEN 'running' ELSE r.metric_status END,
       corpus_stats = CASE WHEN vec.v IS NULL THEN r.corpus_stats WHEN r.corpus_stats IS NULL THEN vec.v
                           ELSE (SELECT array_agg(coalesce(a, 0) + coalesce(b, 0) ORDER BY i) FROM unnest(r.corpus_stats, vec.v) WITH ORDINALITY AS t(a, b, i)) END
FROM agg LEFT JOIN vec USING (result_id) WHERE r.id = agg.result_id`;

/**
 * Moves the statuses of `ids` on from their counters: a result is finished
 * when every row was tried; an experiment is running its answers until every
 * answer was tried, then its metrics until every result finished.
 * Returns the experiments that became finished.
 */
export async function advance(db: pg.PoolClient, ids: readonly number[]): Promise<number[]> {
  if (!ids.length) return [];
  await db.query(
    `UPDATE result r SET metric_status = 'finished'
     FROM experiment e WHERE e.id = r.experiment_id AND r.experiment_id = ANY($1::int[])
       AND r.metric_status NOT IN ('finished', 'stopped') AND r.num_try >= e.num_total`,
    [ids],
  );
  const { rows } = await db.query<{ id: number }>(
    `UPDATE experiment e SET updated_at = now(), experiment_status = CASE
        WHEN e.num_try < e.num_total THEN 'running_answers'
        WHEN EXISTS (SELECT 1 FROM result r WHERE r.experiment_id = e.id AND r.metric_status <> 'finished') THEN 'running_metrics'
        ELSE 'finished' END
     WHERE e.id = ANY($1::int[]) AND e.experiment_status NOT IN ('stopped', 'finished')
     RETURNING e.id, e.experiment_status`,
    [ids],
  );
  return rows.filter((r) => (r as unknown as { experiment_status: string }).experiment_status === 'finished').map((r) => r.id);
}

/**
 * Locks the experiments in id order (so concurrent committers never
 * deadlock) and returns those still accepting outcomes.
 */
async function lockLive(db: pg.PoolClient, ids: readonly number[]): Promise<Set<number>> {
  const { rows } = await db.query<{ id: number; experiment_status: string }>(
    'SELECT id, experiment_status FROM experiment WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE',
    [[...new Set(ids)]],
  );
  return new Set(rows.filter((r) => r.experiment_status !== 'stopped').map((r) => r.id));
}

/** Stores a batch of outcomes in one transaction. Observations name their experiment through `experimentOf`. */
export async function commitOutcomes(
  pool: pg.Pool,
  answers: readonly AnswerOutcome[],
  observations: readonly (ObservationOutcome & { experiment_id: number })[],
): Promise<CommitSummary> {
  const ids = [...new Set([...answers.map((a) => a.experiment_id), ...observations.map((o) => o.experiment_id)])];
  if (!ids.length) return { skippedExperiments: [], finished: [] };
  return inTransaction(pool, async (db) => {
    const live = await lockLive(db, ids);
    const liveIds = [...live];
    const liveAnswers = dedupe(answers.filter((a) => live.has(a.experiment_id)), (a) => `${a.experiment_id}:${a.num_line}`);
    const liveObservations = dedupe(observations.filter((o) => live.has(o.experiment_id)), (o) => `${o.result_id}:${o.num_line}`);
    if (liveAnswers.length) await db.query(STORE_ANSWERS, [JSON.stringify(liveAnswers), liveIds]);
    if (liveObservations.length) {
      const resultIds = [...new Set(liveObservations.map((o) => o.result_id))].sort((a, b) => a - b);
      // Results too are locked in id order before the statement updates them.
      await db.query('SELECT id FROM result WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE', [resultIds]);
      const rows = liveObservations.map(({ experiment_id, ...o }) => ({ ...o, observation: o.observation === undefined ? null : o.observation }));
      await db.query(STORE_OBSERVATIONS, [JSON.stringify(rows), resultIds]);
    }
    const finished = await advance(db, liveIds);
    return { skippedExperiments: ids.filter((id) => !live.has(id)), finished };
  });
}
