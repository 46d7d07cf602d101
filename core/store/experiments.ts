/** Experiments, their results (one per metric use) and bring-your-own answers. */
import type { ProvidedAnswer } from '../answer.js';
import { spentOf, STOPPED_BY_REQUEST, type Caps, type UsedTokens } from '../cost/budget.js';
import type { TokenTotals } from '../cost/cost.js';
import type { StoredJudge, StoredModel } from '../model-config.js';
import { NotFoundError } from '../errors.js';
import { corpusScore } from '../metrics/score.js';
import { DATASET_COLUMNS, type DatasetRecord } from './datasets.js';
import type { Db } from './db.js';
import { jsonSlices, readDocs } from './large.js';
import { isoTime as TS, withSummary, type ScoreColumns } from './sql.js';

export interface NewExperiment {
  name: string;
  readme: string | null;
  experiment_set_id: number | null;
  dataset_id: number;
  /** null for an experiment whose metrics read the dataset row alone (migration 010). */
  model: StoredModel | null;
  model_api_key: string | null;
  judge_model: StoredJudge | null;
  judge_api_key: string | null;
  has_raw_output: boolean;
  /** Reads the dataset's Parquet rows, whose image goes to the model (Evalap's with_vision). */
  with_vision: boolean;
  sample: number[] | null;
  num_total: number;
  /** Bring-your-own outputs arrive answered. */
  num_try: number;
  num_success: number;
  /** Budget caps (core/cost/budget.ts). */
  caps: Caps;
}

export async function insertExperiment(db: Db, e: NewExperiment): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO experiment (name, readme, experiment_set_id, dataset_id, model, model_api_key, judge_model, judge_api_key,
                             has_raw_output, sample, num_total, num_try, num_success, with_vision, max_cost, max_tokens_total)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8, $9, $10::int[], $11, $12, $13, $14, $15::float8, $16::bigint) RETURNING id`,
    [
      e.name, e.readme, e.experiment_set_id, e.dataset_id, e.model && JSON.stringify(e.model), e.model_api_key,
      e.judge_model ? JSON.stringify(e.judge_model) : null, e.judge_api_key, e.has_raw_output, e.sample,
      e.num_total, e.num_try, e.num_success, e.with_vision, e.caps.max_cost, e.caps.max_tokens_total,
    ],
  );
  return rows[0].id;
}

export interface NewResult {
  name: string;
  aliasedName: string;
  params: Record<string, unknown> | null;
}

/** Inserts results; a use whose aliased name the experiment already has is skipped. Returns the new ids. */
export async function insertResults(db: Db, experimentId: number, uses: readonly NewResult[]): Promise<number[]> {
  if (!uses.length) return [];
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO result (experiment_id, metric_name, metric_aliased_name, metric_params)
     SELECT $1, u->>'name', u->>'aliasedName', u->'params' FROM jsonb_array_elements($2::jsonb) AS u
     ON CONFLICT (experiment_id, metric_aliased_name) DO NOTHING RETURNING id`,
    [experimentId, JSON.stringify(uses.map((u) => ({ ...u, params: u.params ?? null })))],
  );
  return rows.map((r) => r.id);
}

/** A bring-your-own answer (core/answer.ts) for its row; execution_time in milliseconds, as the runner measures generated answers. */
export type RawAnswer = ProvidedAnswer & { num_line: number };

/** Stores bring-your-own outputs as answered rows, all in one statement per slice (see large.ts). */
export async function insertRawAnswers(db: Db, experimentId: number, answers: readonly RawAnswer[]): Promise<void> {
  for (const slice of jsonSlices(answers, 20_000)) {
    await db.query(
      `INSERT INTO answer (experiment_id, num_line, answer, think, context, retrieval_context, nb_tokens_prompt,
                           nb_tokens_completion, nb_tool_calls, execution_time)
       SELECT $1, (a->>'num_line')::int, a->>'answer', a->>'think', a->'context', a->'retrieval_context',
              (a->>'nb_tokens_prompt')::int, (a->>'nb_tokens_completion')::int, (a->>'nb_tool_calls')::int,
              (a->>'execution_time')::int
       FROM jsonb_array_elements($2::jsonb) AS a`,
      [experimentId, slice.json],
    );
  }
}

interface ExperimentRow extends Caps, UsedTokens {
  id: number;
  name: string;
  readme: string | null;
  experiment_set_id: number | null;
  dataset_id: number;
  model: StoredModel | null;
  has_api_key: boolean;
  judge_model: StoredJudge | null;
  has_judge_key: boolean;
  has_raw_output: boolean;
  with_vision: boolean;
  sample: number[] | null;
  experiment_status: string;
  num_total: number;
  num_try: number;
  num_success: number;
  num_observation_try: number;
  num_observation_success: number;
  num_metrics: number;
  stop_reason: string | null;
  created_at: string;
  dataset: DatasetRecord;
}

/** An experiment's running totals (migrations 016, 018): read to weigh its budget, shown only as `spent`. */
const USED_COLUMNS = [
  'used_prompt_tokens',
  'used_completion_tokens',
  'used_judge_prompt_tokens',
  'used_judge_completion_tokens',
  'used_cached_prompt_tokens',
  'used_judge_cached_prompt_tokens',
] as const satisfies readonly (keyof UsedTokens)[];

/** An experiment's caps and running totals. */
const BUDGET_COLUMNS = (e: string) => ['max_cost', 'max_tokens_total', ...USED_COLUMNS].map((c) => `${e}.${c}`).join(', ');

/** An experiment with its counters and its dataset's metadata, in one statement (lists embed the dataset too). */
const EXPERIMENT_SELECT = `
  SELECT e.id, e.name, e.readme, e.experiment_set_id, e.dataset_id, e.model, e.model_api_key IS NOT NULL AS has_api_key,
         e.judge_model, e.judge_api_key IS NOT NULL AS has_judge_key, e.has_raw_output, e.with_vision, e.sample, e.experiment_status,
         e.num_total, e.num_try, e.num_success, e.stop_reason, ${BUDGET_COLUMNS('e')},
         coalesce(r.num_try, 0) AS num_observation_try, coalesce(r.num_success, 0) AS num_observation_success,
         coalesce(r.num_metrics, 0) AS num_metrics, ${TS('e.created_at')} AS created_at, to_jsonb(d) AS dataset
  FROM experiment e
  JOIN LATERAL (SELECT ${DATASET_COLUMNS} FROM dataset WHERE id = e.dataset_id) d ON true
  LEFT JOIN LATERAL (
    SELECT sum(num_try)::int AS num_try, sum(num_success)::int AS num_success, count(*)::int AS num_metrics
    FROM result WHERE experiment_id = e.id
  ) r ON true`;

/** Evalap gives each experiment its own model and judge model rows, with ids; here
 *  both live on the experiment, so their ids are derived from it: 2·id − 1 for the
 *  model, 2·id for the judge (unique among all models, stable). */
const publicModel = (m: StoredJudge | null, id: number, hasKey: boolean, raw: boolean) =>
  m && {
    id,
    name: m.name ?? '',
    base_url: m.base_url ?? '',
    aliased_name: m.aliased_name ?? null,
    system_prompt: m.system_prompt ?? null,
    prelude_prompt: m.prelude_prompt ?? null,
    sampling_params: m.sampling_params ?? null,
    extra_params: m.extra_params ?? null,
    has_raw_output: raw,
    has_api_key: hasKey,
  };

/** An experiment as the API shows it, with its dataset's metadata. */
export function experimentView(row: ExperimentRow) {
  const { model, has_api_key, judge_model, has_judge_key, has_raw_output, dataset, ...withTotals } = row;
  const rest: Omit<typeof withTotals, (typeof USED_COLUMNS)[number]> = { ...withTotals };
  for (const c of USED_COLUMNS) delete (rest as Partial<UsedTokens>)[c];
  return {
    ...rest,
    spent: spentOf(row),
    dataset,
    model: publicModel(model, 2 * row.id - 1, has_api_key, has_raw_output),
    judge_model: publicModel(judge_model, 2 * row.id, has_judge_key, false),
  };
}
export type ExperimentView = ReturnType<typeof experimentView>;

export async function getExperimentRow(db: Db, id: number): Promise<ExperimentRow> {
  const { rows } = await db.query<ExperimentRow>(`${EXPERIMENT_SELECT} WHERE e.id = $1`, [id]);
  if (!rows.length) throw new NotFoundError('experiment', id);
  return rows[0];
}

export interface ExperimentFilter {
  /** Rows in the page; all of them when absent. */
  limit?: number;
  afterId?: number;
  /** Rows skipped before the page (Evalap's `skip`). */
  offset?: number;
  /** Newest first (Evalap's `backward`). */
  descending?: boolean;
  /** The experiments of any of these sets. */
  setIds?: readonly number[];
  orphan?: boolean;
  /** Only experiments whose dataset has this compliance flag. */
  compliance?: boolean;
}

/** One page in id order (or its reverse), plus whether more follow. */
export async function listExperimentRows(db: Db, f: ExperimentFilter): Promise<{ rows: ExperimentRow[]; more: boolean }> {
  const where: string[] = [];
  const values: unknown[] = [];
  if (f.afterId !== undefined) where.push(`e.id > $${values.push(f.afterId)}`);
  if (f.setIds !== undefined) where.push(`e.experiment_set_id = ANY($${values.push(f.setIds)}::int[])`);
  if (f.orphan === true) where.push('e.experiment_set_id IS NULL');
  if (f.orphan === false) where.push('e.experiment_set_id IS NOT NULL');
  if (f.compliance !== undefined) where.push(`d.compliance = $${values.push(f.compliance)}::boolean`);
  const { rows } = await db.query<ExperimentRow>(
    `${EXPERIMENT_SELECT} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY e.id ${f.descending ? 'DESC' : ''}
     LIMIT $${values.push(f.limit === undefined ? null : f.limit + 1)}::int OFFSET $${values.push(f.offset ?? 0)}`,
    values,
  );
  return f.limit === undefined ? { rows, more: false } : { rows: rows.slice(0, f.limit), more: rows.length > f.limit };
}

interface ResultRow extends ScoreColumns {
  id: number;
  experiment_id: number;
  metric_name: string;
  metric_aliased_name: string;
  metric_params: Record<string, unknown> | null;
  metric_status: string;
  num_try: number;
  num_success: number;
  corpus_stats: number[] | null;
  created_at: string;
}

const RESULT_SELECT = `SELECT id, experiment_id, metric_name, metric_aliased_name, metric_params, metric_status, num_try, num_success,
            score_count, score_sum, score_sumsq, score_min, score_max, corpus_stats, ${TS('created_at')} AS created_at FROM result`;

function resultView(row: ResultRow) {
  const { rest: { corpus_stats, ...r }, summary } = withSummary(row, row.metric_name);
  return { ...r, summary, corpus_score: corpusScore(r.metric_name, r.metric_params, corpus_stats) };
}

export async function listResults(db: Db, experimentId: number, withObservations: boolean, withEco = false) {
  const { rows } = await db.query<ResultRow>(`${RESULT_SELECT} WHERE experiment_id = $1 ORDER BY id`, [experimentId]);
  const observations = withObservations ? await observationsByResult(db, experimentId, withEco) : undefined;
  return rows.map((row) => ({ ...resultView(row), ...(observations ? { observation_table: observations.get(row.id) ?? [] } : {}) }));
}

/** The results of several experiments in one query (Evalap's experiment list carries them). */
export async function resultsByExperiment(db: Db, experimentIds: number[]) {
  const { rows } = await db.query<ResultRow>(`${RESULT_SELECT} WHERE experiment_id = ANY($1::int[]) ORDER BY id`, [experimentIds]);
  const byExperiment = new Map<number, ReturnType<typeof resultView>[]>();
  for (const row of rows) {
    const list = byExperiment.get(row.experiment_id) ?? [];
    if (!list.length) byExperiment.set(row.experiment_id, list);
    list.push(resultView(row));
  }
  return byExperiment;
}

/** Answers and observations are keyed by (owner, row) and have no id column; Evalap
 *  shows one, so it is derived from the key: owner id × 2^31 + row (num_line < 2^31).
 *  Unique and stable; exact in JSON numbers while the owner id is below 2^22. */
const rowId = (owner: string, numLine: string) => `((${owner})::bigint * 2147483648 + ${numLine})`;

/** execution_time is stored in milliseconds; the API shows seconds, as Evalap does. */
const SECONDS = (col: string) => `(${col} / 1000.0)::float8`;

/** Evalap's eco view adds each row's `emission_carbon` (core/eco); its other views leave it out. */
const ECO_FIELD = (withEco: boolean, col: string) => (withEco ? `, 'emission_carbon', ${col}` : '');

/**
 * An observation as Evalap shows it. Evalap stores judge_complexity's as JSON
 * text (json.dumps of answer, scores, thematique: evalap/api/metrics/
 * judge_complexity.py), and its notebook reads it back with json.loads; here
 * it is stored as an object, whose `reply` is Evalap's `answer`, and shown as
 * that text. Every other observation is shown as stored.
 */
const EVALAP_OBSERVATION = `CASE WHEN r.metric_name = 'judge_complexity' AND jsonb_typeof(o.observation) = 'object'
  THEN to_jsonb((jsonb_build_object('answer', o.observation->'reply') || (o.observation - 'reply'))::text) ELSE o.observation END`;

async function observationsByResult(db: Db, experimentId: number, withEco = false) {
  const docs = await readDocs(
    db,
    `SELECT o.result_id, o.num_line, json_build_object('id', ${rowId('o.result_id', 'o.num_line')}, 'result_id', o.result_id,
              'num_line', o.num_line, 'score', o.score, 'observation', ${EVALAP_OBSERVATION}, 'error_msg', o.error_msg,
              'execution_time', ${SECONDS('o.execution_time')}, 'num_try', o.num_try,
              'created_at', ${TS('o.created_at')}${ECO_FIELD(withEco, 'o.emission_carbon')})::text AS doc
     FROM observation o JOIN result r ON r.id = o.result_id WHERE r.experiment_id = $1`,
    [experimentId],
    ['result_id', 'num_line'],
  );
  const out = new Map<number, unknown[]>();
  for (const doc of docs) {
    const { result_id, ...o } = JSON.parse(doc);
    if (!out.has(result_id)) out.set(result_id, []);
    out.get(result_id)!.push(o);
  }
  return out;
}

export async function listAnswers(db: Db, experimentId: number, withEco = false) {
  const docs = await readDocs(
    db,
    `SELECT num_line, json_build_object('id', ${rowId('experiment_id', 'num_line')}, 'num_line', num_line, 'answer', answer,
              'think', think, 'context', context, 'retrieval_context', retrieval_context, 'nb_tokens_prompt', nb_tokens_prompt,
              'nb_tokens_completion', nb_tokens_completion, 'nb_tokens_cached', nb_tokens_cached, 'nb_tool_calls', nb_tool_calls, 'tool_steps', tool_steps,
              'execution_time', ${SECONDS('execution_time')}, 'error_msg', error_msg, 'num_try', num_try,
              'created_at', ${TS('created_at')}${ECO_FIELD(withEco, 'emission_carbon')})::text AS doc
     FROM answer WHERE experiment_id = $1`,
    [experimentId],
    ['num_line'],
  );
  return docs.map((doc) => JSON.parse(doc) as Record<string, unknown>);
}

export async function lockExperiment(db: Db, id: number): Promise<{ experiment_status: string; has_raw_output: boolean; has_model: boolean; num_total: number; num_success: number }> {
  const { rows } = await db.query('SELECT experiment_status, has_raw_output, model IS NOT NULL AS has_model, num_total, num_success FROM experiment WHERE id = $1 FOR UPDATE', [id]);
  if (!rows.length) throw new NotFoundError('experiment', id);
  return rows[0];
}

export async function renameExperiment(db: Db, id: number, fields: { name?: string; readme?: string | null }): Promise<void> {
  if (fields.name !== undefined) await db.query('UPDATE experiment SET name = $2, updated_at = now() WHERE id = $1', [id, fields.name]);
  if (fields.readme !== undefined) await db.query('UPDATE experiment SET readme = $2, updated_at = now() WHERE id = $1', [id, fields.readme]);
}

/** Puts an experiment back to `pending`; with `answers`, forgets every answer and observation first. */
export async function resetExperiment(db: Db, id: number, answers: boolean): Promise<void> {
  if (answers) {
    await db.query('DELETE FROM answer WHERE experiment_id = $1', [id]);
    await db.query('DELETE FROM observation WHERE result_id IN (SELECT id FROM result WHERE experiment_id = $1)', [id]);
    await db.query(
      `UPDATE result SET metric_status = 'pending', num_try = 0, num_success = 0, score_count = 0, score_sum = 0,
              score_sumsq = 0, score_min = NULL, score_max = NULL WHERE experiment_id = $1`,
      [id],
    );
    await db.query('UPDATE experiment SET num_try = 0, num_success = 0 WHERE id = $1', [id]);
  }
  await db.query(`UPDATE experiment SET experiment_status = 'pending', stopped_by = NULL, stop_reason = NULL, updated_at = now() WHERE id = $1`, [id]);
}

/**
 * Starts over the results of `uses` the experiment already has (matched by
 * aliased name): their observations are deleted and their counters, scores
 * and status reset; name and params become those sent. Returns their ids.
 */
export async function resetResults(db: Db, experimentId: number, uses: readonly NewResult[]): Promise<number[]> {
  if (!uses.length) return [];
  const { rows } = await db.query<{ id: number }>(
    `UPDATE result r SET metric_name = u->>'name', metric_params = u->'params', metric_status = 'pending',
            num_try = 0, num_success = 0, score_count = 0, score_sum = 0, score_sumsq = 0,
            score_min = NULL, score_max = NULL, corpus_stats = NULL, version = r.version + 1
     FROM jsonb_array_elements($2::jsonb) AS u
     WHERE r.experiment_id = $1 AND r.metric_aliased_name = u->>'aliasedName' RETURNING r.id`,
    [experimentId, JSON.stringify(uses.map((u) => ({ ...u, params: u.params ?? null })))],
  );
  const ids = rows.map((r) => r.id);
  if (ids.length) await db.query('DELETE FROM observation WHERE result_id = ANY($1::int[])', [ids]);
  return ids;
}

export async function deleteExperiment(db: Db, id: number): Promise<void> {
  const { rowCount } = await db.query('DELETE FROM experiment WHERE id = $1', [id]);
  if (!rowCount) throw new NotFoundError('experiment', id);
}

/**
 * Marks those of the experiments `ids` (and their results) that have not
 * finished as `stopped` by a request; returns their ids. (SQL: evalap_stop,
 * migration 016, which a budget's stop shares.)
 */
export async function stopExperiments(db: Db, ids: readonly number[]): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(`SELECT s AS id FROM evalap_stop($1::int[], 'request', $2) AS s`, [ids, STOPPED_BY_REQUEST]);
  return rows.map((r) => r.id);
}

/** Sets an experiment's or a set's caps; a field left undefined is kept, null removes the cap. */
export async function setCaps(db: Db, table: 'experiment' | 'experiment_set', id: number, caps: Partial<Caps>): Promise<void> {
  if (caps.max_cost !== undefined) await db.query(`UPDATE ${table} SET max_cost = $2::float8 WHERE id = $1`, [id, caps.max_cost]);
  if (caps.max_tokens_total !== undefined) await db.query(`UPDATE ${table} SET max_tokens_total = $2::bigint WHERE id = $1`, [id, caps.max_tokens_total]);
}

/** An experiment's caps and running totals, with its set's caps: what a budget is weighed from. */
export interface BudgetRow extends Caps, UsedTokens {
  id: number;
  experiment_set_id: number | null;
  experiment_status: string;
  model: StoredModel | null;
  judge_model: StoredJudge | null;
  has_raw_output: boolean;
  set_max_cost: number | null;
  set_max_tokens_total: number | null;
}

/** The budget rows of the experiments `ids` and of every experiment of their sets (a set's cap is weighed over all of them). */
export async function budgetRows(db: Db, ids: readonly number[]): Promise<BudgetRow[]> {
  const { rows } = await db.query<BudgetRow>(
    `SELECT e.id, e.experiment_set_id, e.experiment_status, e.model, e.judge_model, e.has_raw_output, ${BUDGET_COLUMNS('e')},
            s.max_cost AS set_max_cost, s.max_tokens_total AS set_max_tokens_total
     FROM experiment e LEFT JOIN experiment_set s ON s.id = e.experiment_set_id
     WHERE e.id = ANY($1::int[]) OR e.experiment_set_id IN (SELECT experiment_set_id FROM experiment WHERE id = ANY($1::int[]))
     ORDER BY e.id`,
    [ids],
  );
  return rows;
}

/**
 * Those of the experiments `ids` with anything left to do: failed or
 * missing answers (an experiment without a model has none to miss), failed
 * or missing observations, or not finished. They
 * are put back to `pending` (stopped ones resume) and their ids returned.
 * Without `force`, experiments still running are left alone, as Evalap
 * does: their work is in flight, and re-enqueuing it would call the model
 * twice for the same row.
 */
export async function reopenForRetry(db: Db, ids: readonly number[], force = false): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `UPDATE experiment e SET experiment_status = 'pending', stopped_by = NULL, stop_reason = NULL, updated_at = now()
     WHERE e.id = ANY($1::int[]) AND ($2::boolean OR e.experiment_status IN ('finished', 'stopped')) AND (
       e.experiment_status <> 'finished' OR (e.model IS NOT NULL AND e.num_success < e.num_total)
       OR EXISTS (SELECT 1 FROM result r WHERE r.experiment_id = e.id AND r.num_success < e.num_total))
     RETURNING e.id`,
    [ids, force],
  );
  const reopened = rows.map((r) => r.id);
  if (reopened.length) {
    await db.query(`UPDATE result SET metric_status = 'pending' WHERE experiment_id = ANY($1::int[]) AND (metric_status <> 'finished' OR num_success < num_try)`, [reopened]);
  }
  return reopened;
}

/** An experiment's answer and observation counters, as a retry reports them. */
export interface RetryCounters {
  id: number;
  has_raw_output: boolean;
  /** False for an experiment whose metrics read the dataset row alone: it has no answers to count or redo. */
  has_model: boolean;
  num_total: number;
  num_try: number;
  num_success: number;
  results: { id: number; num_try: number; num_success: number }[];
}

export async function retryCounters(db: Db, ids: readonly number[]): Promise<RetryCounters[]> {
  const { rows } = await db.query<RetryCounters>(
    `SELECT e.id, e.has_raw_output, e.model IS NOT NULL AS has_model, e.num_total, e.num_try, e.num_success,
            coalesce((SELECT json_agg(json_build_object('id', r.id, 'num_try', r.num_try, 'num_success', r.num_success) ORDER BY r.id)
                      FROM result r WHERE r.experiment_id = e.id), '[]') AS results
     FROM experiment e WHERE e.id = ANY($1::int[]) ORDER BY e.id`,
    [ids],
  );
  return rows;
}

/** Token sums of experiments' answers and judge calls, as core/cost/cost.ts's TokenTotals. */
export interface ExperimentTokens {
  answers: Required<TokenTotals>;
  judge: Required<TokenTotals>;
}

/**
 * Sums of the token counts of each experiment's answers (their columns) and
 * judge calls (`judge_usage` in the observations, core/metrics/judges.ts),
 * with the cached prompt tokens among them (migration 018).
 * Read from the rows, by the answer and result keys: rerun or deleted rows
 * are never counted. An experiment without rows gets zeros.
 */
export async function tokenTotals(db: Db, experimentIds: readonly number[]): Promise<Map<number, ExperimentTokens>> {
  const sums = (prompt: string, completion: string, cached: string, ok: string) => `
    count(*) FILTER (WHERE ${prompt} IS NOT NULL OR ${completion} IS NOT NULL)::int AS calls,
    coalesce(sum(${prompt}), 0)::float8 AS prompt_tokens, coalesce(sum(${completion}), 0)::float8 AS completion_tokens,
    coalesce(sum(${cached}), 0)::float8 AS cached_prompt_tokens,
    count(*) FILTER (WHERE ${ok} AND ${prompt} IS NULL AND ${completion} IS NULL)::int AS without_tokens`;
  type Sums = ExperimentTokens['answers'] & { id: number };
  // One after the other: `db` may be a transaction's client, which runs one statement at a time.
  const answers = await db.query<Sums>(
    `SELECT experiment_id AS id, ${sums('nb_tokens_prompt', 'nb_tokens_completion', 'nb_tokens_cached', 'error_msg IS NULL')}
     FROM answer WHERE experiment_id = ANY($1::int[]) GROUP BY experiment_id`,
    [experimentIds],
  );
  const judge = await db.query<Sums>(
    `SELECT r.experiment_id AS id, ${sums("(u.usage->>'prompt_tokens')::float8", "(u.usage->>'completion_tokens')::float8", "(u.usage->>'cached_tokens')::float8", 'true')}
     FROM result r JOIN observation o ON o.result_id = r.id CROSS JOIN LATERAL (SELECT o.observation->'judge_usage' AS usage) u
     WHERE r.experiment_id = ANY($1::int[]) AND jsonb_typeof(u.usage) = 'object' GROUP BY r.experiment_id`,
    [experimentIds],
  );
  const zero = { calls: 0, prompt_tokens: 0, cached_prompt_tokens: 0, completion_tokens: 0, without_tokens: 0 };
  const strip = ({ id: _, ...t }: Sums) => ({
    calls: Number(t.calls),
    prompt_tokens: Number(t.prompt_tokens),
    cached_prompt_tokens: Number(t.cached_prompt_tokens),
    completion_tokens: Number(t.completion_tokens),
    without_tokens: Number(t.without_tokens),
  });
  const out = new Map<number, ExperimentTokens>(experimentIds.map((id) => [id, { answers: zero, judge: zero }]));
  for (const row of answers.rows) out.set(row.id, { ...out.get(row.id)!, answers: strip(row) });
  for (const row of judge.rows) out.set(row.id, { ...out.get(row.id)!, judge: strip(row) });
  return out;
}
