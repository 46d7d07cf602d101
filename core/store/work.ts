/**
 * What the runner reads to do its work: an experiment's configuration, the
 * rows and stored answers a batch of tasks needs (one query per batch), the
 * rows a fan-out enqueues, and the reset a retry starts from.
 */
import type pg from 'pg';
import type { AnswerRecord } from '../answer.js';
import type { StoredJudge, StoredModel } from '../model-config.js';
import type { Database, Db } from './db.js';
import { advance } from './outcomes.js';
import { inTransaction } from './pool.js';

export interface ResultConfig {
  id: number;
  /** Raised each time PATCH resets the result (core/store/migrations/007). */
  version: number;
  name: string;
  aliasedName: string;
  params: Record<string, unknown> | null;
}

export interface ExperimentConfig {
  id: number;
  status: string;
  datasetId: number;
  hasRawOutput: boolean;
  numTotal: number;
  sample: number[] | null;
  /** null when the experiment's metrics read the dataset row alone: it has no answers (migration 010). */
  model: (StoredModel & { with_vision?: true }) | null;
  /** Sealed provider keys; the runner opens them when it hands a task to a worker. */
  modelApiKey: string | null;
  judgeModel: StoredJudge | null;
  judgeApiKey: string | null;
  columnsMap: Record<string, string> | null;
  results: ResultConfig[];
}

export async function experimentConfig(db: Db, id: number): Promise<ExperimentConfig | undefined> {
  const { rows } = await db.query(
    `SELECT e.id, e.experiment_status AS status, e.dataset_id AS "datasetId", e.has_raw_output AS "hasRawOutput",
            e.num_total AS "numTotal", e.sample,
            -- with_vision travels with the model: it decides how the chat messages are built (core/providers/openai.ts).
            CASE WHEN e.with_vision THEN e.model || '{"with_vision": true}'::jsonb ELSE e.model END AS model, e.model_api_key AS "modelApiKey", e.judge_model AS "judgeModel",
            e.judge_api_key AS "judgeApiKey", d.columns_map AS "columnsMap",
            coalesce((SELECT json_agg(json_build_object('id', r.id, 'version', r.version, 'name', r.metric_name, 'aliasedName', r.metric_aliased_name, 'params', r.metric_params) ORDER BY r.id)
                      FROM result r WHERE r.experiment_id = e.id), '[]') AS results
     FROM experiment e JOIN dataset d ON d.id = e.dataset_id WHERE e.id = $1`,
    [id],
  );
  return rows[0];
}

/** The stored state of one (experiment, row) a task works on. */
export interface RowState {
  experiment_id: number;
  num_line: number;
  /** The dataset row, or null if it does not exist. */
  data: Record<string, unknown> | null;
  /** The stored answer, if any (a failure has error_msg set). */
  answer: AnswerRecord | null;
  /** Results that already have an observation (success or failure) for this row. */
  observed: number[];
  /** Every result the experiment has now, as `id.version`: a cached configuration that lacks one is stale. */
  results: string[];
}

/** Rows, answers and observed results of a batch of (experiment, row) pairs, in one query. */
export async function rowStates(db: pg.Pool, keys: readonly { experiment_id: number; num_line: number }[]): Promise<RowState[]> {
  if (!keys.length) return [];
  const { rows } = await db.query<RowState>(
    // Lateral lookups on both key columns, fenced by OFFSET 0 so the planner cannot turn them
    // into joins: on a freshly uploaded dataset (no statistics yet) a join was planned as a scan
    // of the whole dataset per key, growing with the dataset.
    `SELECT t.eid AS experiment_id, t.line AS num_line, d.data,
            CASE WHEN a.experiment_id IS NULL THEN NULL ELSE json_build_object(
              'answer', a.answer, 'think', a.think, 'context', a.context, 'retrieval_context', a.retrieval_context,
              'nb_tokens_prompt', a.nb_tokens_prompt, 'nb_tokens_completion', a.nb_tokens_completion,
              'nb_tool_calls', a.nb_tool_calls, 'tool_steps', a.tool_steps, 'execution_time', a.execution_time, 'emission_carbon', a.emission_carbon,
              'error_msg', a.error_msg) END AS answer,
            coalesce(rs.observed, '{}') AS observed, coalesce(rs.results, '{}') AS results
     FROM unnest($1::int[], $2::int[]) AS t(eid, line)
     JOIN experiment e ON e.id = t.eid
     -- A with_vision experiment reads the dataset's Parquet rows (migration 009), any other its df rows.
     LEFT JOIN LATERAL (SELECT dr.data FROM dataset_row dr WHERE NOT e.with_vision AND dr.dataset_id = e.dataset_id AND dr.num_line = t.line
                        UNION ALL
                        SELECT pr.data FROM dataset_parquet_row pr WHERE e.with_vision AND pr.dataset_id = e.dataset_id AND pr.num_line = t.line OFFSET 0) d ON true
     LEFT JOIN LATERAL (SELECT * FROM answer an WHERE an.experiment_id = t.eid AND an.num_line = t.line OFFSET 0) a ON true
     -- One pass over the experiment's results gives both the row's observed ones and all of them.
     LEFT JOIN LATERAL (SELECT array_agg(r.id) FILTER (WHERE o.result_id IS NOT NULL) AS observed, array_agg(r.id || '.' || r.version) AS results
                        FROM result r LEFT JOIN observation o ON o.result_id = r.id AND o.num_line = t.line
                        WHERE r.experiment_id = t.eid) rs ON true`,
    [keys.map((k) => k.experiment_id), keys.map((k) => k.num_line)],
  );
  return rows;
}

export interface FanoutChunk {
  /** Rows to enqueue an answer task for. */
  lines: number[];
  /** Observations to enqueue, for an experiment without a model: straight from the dataset rows, it has no answers. */
  observations: { num_line: number; result_id: number }[];
  /** Where the next chunk starts, or null when this was the last. */
  next: number | null;
  /** The experiment's rows. */
  total: number;
}

/**
 * One chunk of an experiment's rows, from position `from`. With
 * `missingOnly`, rows whose answer and observations are all stored are left
 * out. An experiment without a model gets its rows' observations instead
 * (with `missingOnly`, those not stored). Also moves a pending experiment on
 * to its running status. Returns
 * 'stopped' for a stopped experiment and 'missing' for one that does not
 * exist (yet: the API sends the launch's task before it commits).
 */
export async function fanoutChunk(pool: Database | pg.Pool, experimentId: number, from: number, size: number, missingOnly: boolean): Promise<FanoutChunk | 'stopped' | 'missing'> {
  return inTransaction(pool, async (db) => {
    const { rows } = await db.query<{ experiment_status: string; num_total: number; sample: number[] | null; modelless: boolean }>(
      'SELECT experiment_status, num_total, sample, model IS NULL AS modelless FROM experiment WHERE id = $1 FOR UPDATE',
      [experimentId],
    );
    const e = rows[0];
    if (!e) return 'missing';
    if (e.experiment_status === 'stopped') return 'stopped';
    await advance(db, [experimentId]);
    const end = Math.min(from + size, e.num_total);
    let lines = e.sample ? e.sample.slice(from, end) : Array.from({ length: Math.max(0, end - from) }, (_, i) => from + i);
    const next = end < e.num_total ? end : null;
    if (e.modelless) return { lines: [], observations: await unobserved(db, experimentId, lines, missingOnly), next, total: e.num_total };
    if (missingOnly && lines.length) {
      const { rows: missing } = await db.query<{ line: number }>(
        `SELECT l AS line FROM unnest($2::int[]) AS l
         WHERE NOT EXISTS (SELECT 1 FROM answer a WHERE a.experiment_id = $1 AND a.num_line = l)
            OR (SELECT count(*) FROM observation o JOIN result r ON r.id = o.result_id WHERE r.experiment_id = $1 AND o.num_line = l)
             < (SELECT count(*) FROM result WHERE experiment_id = $1)`,
        [experimentId, lines],
      );
      lines = missing.map((m) => m.line);
    }
    return { lines, observations: [], next, total: e.num_total };
  });
}

/** The (row, result) pairs of `lines` to observe, in row order: all of them, or with `missingOnly` those with no stored observation. */
async function unobserved(db: Db, experimentId: number, lines: number[], missingOnly: boolean) {
  if (!lines.length) return [];
  const { rows } = await db.query<{ num_line: number; result_id: number }>(
    `SELECT u.l AS num_line, r.id AS result_id
     FROM unnest($2::int[]) WITH ORDINALITY AS u(l, i) JOIN result r ON r.experiment_id = $1
     WHERE NOT $3::boolean OR NOT EXISTS (SELECT 1 FROM observation o WHERE o.result_id = r.id AND o.num_line = u.l)
     ORDER BY u.i, r.id`,
    [experimentId, lines, missingOnly],
  );
  return rows;
}

/**
 * Forgets an experiment's failed answers (with the observations that failed
 * for want of them) and failed observations, and recounts its counters and
 * aggregates from what remains, so a retry counts each row once. A one-off
 * recount, only on retry. Returns false for a stopped or missing experiment.
 */
export async function resetFailures(pool: Database | pg.Pool, experimentId: number): Promise<boolean> {
  return inTransaction(pool, async (db) => {
    const { rows } = await db.query<{ experiment_status: string }>('SELECT experiment_status FROM experiment WHERE id = $1 FOR UPDATE', [experimentId]);
    if (!rows.length || rows[0].experiment_status === 'stopped') return false;
    await db.query(
      `DELETE FROM observation o USING result r WHERE r.id = o.result_id AND r.experiment_id = $1
         AND (o.error_msg IS NOT NULL OR o.num_line IN (SELECT num_line FROM answer WHERE experiment_id = $1 AND error_msg IS NOT NULL))`,
      [experimentId],
    );
    await db.query('DELETE FROM answer WHERE experiment_id = $1 AND error_msg IS NOT NULL', [experimentId]);
    await db.query(
      `UPDATE experiment SET num_try = (SELECT count(*) FROM answer WHERE experiment_id = $1),
              num_success = (SELECT count(*) FROM answer WHERE experiment_id = $1 AND error_msg IS NULL), updated_at = now()
       WHERE id = $1`,
      [experimentId],
    );
    await db.query(
      `UPDATE result r SET num_try = s.n, num_success = s.ok, score_count = s.c, score_sum = s.sum, score_sumsq = s.sumsq,
              score_min = s.lo, score_max = s.hi, metric_status = 'running',
              corpus_stats = (SELECT array_agg(x.s ORDER BY x.i) FROM (
                SELECT e.i, sum(e.val::float8) AS s FROM observation o2, jsonb_array_elements_text(o2.observation->'corpus_stats') WITH ORDINALITY AS e(val, i)
                WHERE o2.result_id = r.id AND o2.error_msg IS NULL AND jsonb_typeof(o2.observation->'corpus_stats') = 'array' GROUP BY e.i) x)
       FROM (SELECT r2.id, count(o.num_line)::int AS n, count(o.num_line) FILTER (WHERE o.error_msg IS NULL)::int AS ok,
                    count(o.score) FILTER (WHERE o.error_msg IS NULL)::int AS c, coalesce(sum(o.score) FILTER (WHERE o.error_msg IS NULL), 0) AS sum,
                    coalesce(sum(o.score * o.score) FILTER (WHERE o.error_msg IS NULL), 0) AS sumsq,
                    min(o.score) FILTER (WHERE o.error_msg IS NULL) AS lo, max(o.score) FILTER (WHERE o.error_msg IS NULL) AS hi
             FROM result r2 LEFT JOIN observation o ON o.result_id = r2.id WHERE r2.experiment_id = $1 GROUP BY r2.id) s
       WHERE r.id = s.id`,
      [experimentId],
    );
    await db.query(`UPDATE experiment SET experiment_status = 'running_answers' WHERE id = $1`, [experimentId]);
    await advance(db, [experimentId]);
    return true;
  });
}
