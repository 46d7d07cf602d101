/**
 * One page of an experiment's rows: each dataset row the experiment covers,
 * its answer and every metric's observation, filtered and sorted in SQL so a
 * 100,000-row experiment is paged, never loaded. Filters and the sort key
 * read only indexed lookups (answer and observation by their primary keys);
 * the observations of a row are gathered for the page's rows alone.
 */
import type { Db } from './db.js';
import { readDocs } from './large.js';
import { isoTime as TS } from './sql.js';

export interface RowFilter {
  experimentId: number;
  /** Result ids of the experiment (every metric), and the one sorted or filtered by, if any. */
  resultIds: number[];
  metricResultId?: number;
  /** Rows whose answer or any observation (or, with a metric, that metric's observation) failed. */
  failed?: boolean;
  minScore?: number;
  maxScore?: number;
  /** Case-insensitive text searched in the dataset row and the answer. */
  search?: string;
  /** Sort by the metric's score (nulls last) rather than by row number. */
  sortByScore?: 'asc' | 'desc';
  offset: number;
  limit: number;
}

export interface RowPage {
  total: number;
  docs: Record<string, unknown>[];
}

/** `LIKE` matches these literally only when escaped. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function experimentRows(db: Db, f: RowFilter): Promise<RowPage> {
  const values: unknown[] = [f.experimentId];
  const p = (v: unknown) => `$${values.push(v)}`;
  const where: string[] = [];
  const scored = f.metricResultId !== undefined;
  const metric = scored ? p(f.metricResultId) : null;
  if (f.failed) {
    const obsFailed = scored
      ? `m.error_msg IS NOT NULL`
      : `EXISTS (SELECT 1 FROM observation o WHERE o.result_id = ANY(${p(f.resultIds)}::int[]) AND o.num_line = l.num_line AND o.error_msg IS NOT NULL)`;
    where.push(`(a.error_msg IS NOT NULL OR ${obsFailed})`);
  }
  if (f.minScore !== undefined) where.push(`m.score >= ${p(f.minScore)}::float8`);
  if (f.maxScore !== undefined) where.push(`m.score <= ${p(f.maxScore)}::float8`);
  if (f.search) {
    const pattern = p(likePattern(f.search));
    where.push(`(l.data::text ILIKE ${pattern} OR a.answer ILIKE ${pattern})`);
  }
  const order = f.sortByScore ? `m.score ${f.sortByScore === 'asc' ? 'ASC' : 'DESC'} NULLS LAST, l.num_line` : 'l.num_line';
  const from = `
    FROM experiment e
    JOIN LATERAL (
      SELECT num_line, data FROM dataset_row WHERE NOT e.with_vision AND dataset_id = e.dataset_id
      UNION ALL
      -- A vision experiment's rows are the Parquet rows; their image is left out of the page (a page of them would weigh megabytes).
      SELECT num_line, CASE WHEN data->'img' IS NOT NULL THEN (data - 'img') || '{"img": "(image)"}'::jsonb ELSE data END
      FROM dataset_parquet_row WHERE e.with_vision AND dataset_id = e.dataset_id
    ) l ON (e.sample IS NULL OR l.num_line = ANY(e.sample))
    LEFT JOIN answer a ON a.experiment_id = e.id AND a.num_line = l.num_line
    ${scored ? `LEFT JOIN observation m ON m.result_id = ${metric}::int AND m.num_line = l.num_line` : ''}
    WHERE e.id = $1 ${where.length ? `AND ${where.join(' AND ')}` : ''}`;
  // Unfiltered, every row of the experiment matches: its num_total says how many without counting them.
  const counted = where.length ? `SELECT count(*)::int AS total ${from}` : 'SELECT num_total AS total FROM experiment WHERE id = $1';
  const { rows } = await db.query<{ total: number }>(counted, where.length ? values : [f.experimentId]);
  const total = rows[0]?.total ?? 0;
  if (f.offset >= total) return { total, docs: [] };

  const limit = p(f.limit);
  const offset = p(f.offset);
  const page = `SELECT row_number() OVER (ORDER BY ${order}) AS rk, l.num_line, l.data, a AS ans ${from} ORDER BY ${order} LIMIT ${limit} OFFSET ${offset}`;
  const docs = await readDocs(
    db,
    `SELECT pg.rk, json_build_object(
        'num_line', pg.num_line, 'data', pg.data,
        'answer', CASE WHEN (pg.ans).num_line IS NULL THEN NULL ELSE json_build_object(
          'answer', (pg.ans).answer, 'think', (pg.ans).think, 'context', (pg.ans).context,
          'retrieval_context', (pg.ans).retrieval_context, 'nb_tokens_prompt', (pg.ans).nb_tokens_prompt,
          'nb_tokens_completion', (pg.ans).nb_tokens_completion, 'nb_tokens_cached', (pg.ans).nb_tokens_cached,
          'nb_tool_calls', (pg.ans).nb_tool_calls,
          'tool_steps', (pg.ans).tool_steps,
          'execution_time', ((pg.ans).execution_time / 1000.0)::float8, 'error_msg', (pg.ans).error_msg,
          'num_try', (pg.ans).num_try, 'created_at', ${TS('(pg.ans).created_at')}) END,
        'observations', (
          SELECT coalesce(json_object_agg(r.metric_aliased_name, json_build_object(
                   'score', o.score, 'observation', o.observation, 'error_msg', o.error_msg,
                   'execution_time', (o.execution_time / 1000.0)::float8, 'num_try', o.num_try)), '{}'::json)
          FROM observation o JOIN result r ON r.id = o.result_id
          WHERE r.experiment_id = $1 AND o.num_line = pg.num_line))::text AS doc
     FROM (${page}) pg`,
    values,
    ['rk'],
  );
  return { total, docs: docs.map((d) => JSON.parse(d) as Record<string, unknown>) };
}
