/** What comparing two experiment sets reads: each set's experiments and results, and the scores of two results row by row. */
import type { Db } from './db.js';

/** Pairs of scores of two results on the rows both scored. */
export async function pairedScores(db: Db, resultA: number, resultB: number): Promise<{ a: number[]; b: number[] }> {
  const { rows } = await db.query<{ a: number; b: number }>(
    `SELECT oa.score AS a, ob.score AS b FROM observation oa JOIN observation ob ON ob.result_id = $2 AND ob.num_line = oa.num_line
     WHERE oa.result_id = $1 AND oa.error_msg IS NULL AND ob.error_msg IS NULL AND oa.score IS NOT NULL AND ob.score IS NOT NULL
     ORDER BY oa.num_line`,
    [resultA, resultB],
  );
  return { a: rows.map((r) => r.a), b: rows.map((r) => r.b) };
}

/** A set's experiments in order, each with its results. */
export async function setResults(db: Db, setId: number): Promise<{ id: number; name: string; model: string; results: { id: number; metric: string; metric_name: string }[] }[]> {
  const { rows } = await db.query(
    `SELECT e.id, e.name, coalesce(nullif(e.model->>'aliased_name', ''), e.model->>'name', e.name) AS model,
            coalesce((SELECT json_agg(json_build_object('id', r.id, 'metric', r.metric_aliased_name, 'metric_name', r.metric_name) ORDER BY r.id) FROM result r WHERE r.experiment_id = e.id), '[]') AS results
     FROM experiment e WHERE e.experiment_set_id = $1 ORDER BY e.id`,
    [setId],
  );
  return rows;
}
