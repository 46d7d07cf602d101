/**
 * A large experiment made fast, for what reads it (bench/rows.ts, the web
 * interface's large-details test): a dataset uploaded in chunks, an
 * experiment of its own outputs with exact_match and output_length, and one
 * observation per row and metric written straight in SQL (what is measured
 * is reading them, not computing them). Every 50th row's exact_match failed;
 * a third of the answers are wrong.
 */
export interface Seeding {
  post(path: string, body: unknown): Promise<{ status: number; body: any }>;
  sql(text: string, params: unknown[]): Promise<unknown>;
}

const CHUNK = 20_000;

export async function seedLargeExperiment(s: Seeding, name: string, rows: number): Promise<number> {
  const records = (from: number, to: number) =>
    JSON.stringify(Array.from({ length: to - from }, (_, k) => ({ query: `question ${from + k} about topic ${(from + k) % 97}`, output_true: `answer ${from + k}` })));
  const must = async (what: string, res: Promise<{ status: number; body: any }>) => {
    const r = await res;
    if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
    return r.body;
  };
  const dataset = await must('POST /v1/dataset', s.post('/v1/dataset', { name, readme: '', df: records(0, Math.min(rows, CHUNK)) }));
  for (let from = CHUNK; from < rows; from += CHUNK) await must('POST /v1/dataset/{id}/rows', s.post(`/v1/dataset/${dataset.id}/rows`, { df: records(from, Math.min(rows, from + CHUNK)) }));
  const output = Array.from({ length: rows }, (_, i) => (i % 3 ? `answer ${i}` : `something else ${i}`));
  const experiment = await must('POST /v1/experiment', s.post('/v1/experiment', { name, dataset: name, model: { aliased_name: 'mine', output }, metrics: ['exact_match', 'output_length'] }));
  await s.sql(
    `INSERT INTO observation (result_id, num_line, score, observation, error_msg, execution_time)
     SELECT r.id, a.num_line,
            CASE WHEN r.metric_name = 'exact_match' AND a.num_line % 50 = 0 THEN NULL
                 WHEN r.metric_name = 'exact_match' THEN (a.num_line % 3 <> 0)::int
                 ELSE 2 + a.num_line % 7 END,
            NULL,
            CASE WHEN r.metric_name = 'exact_match' AND a.num_line % 50 = 0 THEN 'judge unreachable' END,
            3
     FROM result r JOIN answer a ON a.experiment_id = r.experiment_id WHERE r.experiment_id = $1`,
    [experiment.id],
  );
  await s.sql('ANALYZE', []);
  return experiment.id as number;
}
