/**
 * Issue 13: the response shapes Evalap's own clients read (its UI, notebooks
 * and guides) — leaderboard entries, metric params, ids, execution_time in
 * seconds, retry lists and the ops routes — against the real API and database.
 */
import { scoreInline } from '../../core/metrics/score.js';
import { rowStates } from '../../core/store/work.js';
import { makeDf, startApi, type TestApi } from '../support/api.js';

/** Judge names are resolved at launch: an endpoint that serves any name (never called here), and a default judge. */
const ANY_JUDGE = { EVALAP_JUDGE_BASE_URL: 'http://127.0.0.1:9/v1', EVALAP_JUDGE_MODELS: '*', EVALAP_JUDGE_MODEL: 'judge' };

let api: TestApi;
beforeAll(async () => {
  api = await startApi(ANY_JUDGE);
  expect((await api.call('POST', '/v1/dataset', { body: { name: 'shapes', readme: '', df: makeDf(3) } })).status).toBe(200);
});
afterAll(() => api.close());

const byo = (aliased_name: string, extra: Record<string, unknown> = {}) => ({ aliased_name, output: ['a', 'b', 'c'], ...extra });

async function createSet(name: string, experiments: unknown[]): Promise<{ setId: number; ids: number[] }> {
  const res = await api.call('POST', '/v1/experiment_set', { body: { name, readme: '', experiments } });
  expect(res.status).toBe(200);
  return { setId: res.body.id, ids: res.body.experiments.map((e: { id: number }) => e.id) };
}

/** Sets a result's counters as the runner's commits would have left them. */
async function setResult(experimentId: number, metric: string, c: { tries: number; successes?: number; scores?: number[] }) {
  const scores = c.scores ?? [];
  await api.pool.query(
    `UPDATE result SET num_try = $3, num_success = $4, score_count = $5, score_sum = $6, score_sumsq = $7, score_min = $8, score_max = $9
     WHERE experiment_id = $1 AND metric_aliased_name = $2`,
    [experimentId, metric, c.tries, c.successes ?? c.tries, scores.length, scores.reduce((s, v) => s + v, 0), scores.reduce((s, v) => s + v * v, 0),
      scores.length ? Math.min(...scores) : null, scores.length ? Math.max(...scores) : null],
  );
}

describe('GET /v1/leaderboard', () => {
  let scored: number, unscored: number, judged: number;
  beforeAll(async () => {
    const metrics = ['exact_match', 'output_length'];
    let untried: number;
    ({ ids: [scored, unscored, untried] } = await createSet('lb-set', [
      {
        name: 'scored', dataset: 'shapes', metrics,
        model: byo('scored', { system_prompt: 'Be brief.', sampling_params: { temperature: 0.2, stop: ['x'] }, extra_params: { seed: 3 } }),
      },
      { name: 'unscored', dataset: 'shapes', metrics, model: byo('unscored') },
      { name: 'untried', dataset: 'shapes', metrics, model: byo('untried') },
    ]));
    await setResult(scored, 'exact_match', { tries: 3, scores: [1, 1, 0] });
    await setResult(scored, 'output_length', { tries: 3, scores: [10, 20, 30] });
    // Every observation of `unscored` failed: it has observations but no score.
    await setResult(unscored, 'exact_match', { tries: 3, successes: 0 });
    await setResult(untried, 'exact_match', { tries: 0 });
    const judge = await api.call('POST', '/v1/experiment', {
      body: { name: 'judged', dataset: 'shapes', model: byo('judged'), judge_model: 'some-judge', metrics: ['judge_notator', 'exact_match'] },
    });
    expect(judge.status).toBe(200);
    judged = judge.body.id;
    await setResult(judged, 'judge_notator', { tries: 3, scores: [8, 6, 7] });
    await setResult(judged, 'exact_match', { tries: 3, scores: [0, 0, 0] });
  });

  it('gives each entry Evalap\'s fields: main_metric_score, other_metrics, the model\'s prompt and params as text, the set\'s name', async () => {
    const res = await api.call('GET', '/v1/leaderboard?metric_name=exact_match&dataset_name=shapes');
    expect(res.status).toBe(200);
    const first = res.body.entries[0];
    expect(first).toMatchObject({
      experiment_id: scored,
      experiment_name: 'scored',
      experiment_set_id: expect.any(Number),
      experiment_set_name: 'lb-set',
      model_name: 'scored',
      dataset_name: 'shapes',
      metric_name: 'exact_match',
      other_metrics: { output_length: 20 },
      system_prompt: 'Be brief.',
      sampling_param: { temperature: '0.2', stop: '["x"]' },
      extra_param: { seed: '3' },
      judge_model: null,
    });
    expect(first.main_metric_score).toBeCloseTo(2 / 3, 12);
    // Our own fields stay: the summary the CLI reads.
    expect(first.summary).toMatchObject({ support: 3 });
    expect(first.summary.mean).toBeCloseTo(2 / 3, 12);
  });

  it('lists an experiment whose observations gave no score, with a null score, after the scored ones; not one without observations', async () => {
    const res = await api.call('GET', '/v1/leaderboard?metric_name=exact_match&dataset_name=shapes');
    expect(res.body.entries.map((e: { experiment_id: number }) => e.experiment_id)).toEqual([scored, judged, unscored]);
    const last = res.body.entries[2];
    expect(last).toMatchObject({ main_metric_score: null, other_metrics: {}, system_prompt: null, sampling_param: {}, extra_param: {} });
    expect(last.summary).toMatchObject({ mean: null, support: 0 });
  });

  it('ranks by judge_notator when no metric_name is given, as Evalap does', async () => {
    const res = await api.call('GET', '/v1/leaderboard');
    expect(res.status).toBe(200);
    expect(res.body.entries).toHaveLength(1);
    expect(res.body.entries[0]).toMatchObject({ experiment_id: judged, metric_name: 'judge_notator', main_metric_score: 7, other_metrics: { exact_match: 0 }, judge_model: 'some-judge', experiment_set_name: null });
  });
});

describe('GET /v1/metrics', () => {
  it('names the params each metric must and may be given, as Evalap\'s required_params and optional_params', async () => {
    const res = await api.call('GET', '/v1/metrics');
    expect(res.status).toBe(200);
    const byName = Object.fromEntries(res.body.map((m: { name: string }) => [m.name, m]));
    expect(byName.judge_adhoc).toMatchObject({ required_params: ['prompt'], optional_params: ['scale'] });
    // criteria or evaluation_steps, either being enough (as DeepEval's GEval): neither is required alone.
    expect(byName.g_eval).toMatchObject({
      required_params: [],
      optional_params: ['criteria', 'evaluation_params', 'evaluation_steps', 'include_reason', 'rubric', 'scale', 'strict_mode', 'threshold', 'use_output_true'],
    });
    expect(byName.exact_match).toMatchObject({ required_params: [], optional_params: ['ignore_case', 'ignore_punctuation', 'ignore_whitespace'] });
    expect(byName.bleu).toMatchObject({ required_params: [], optional_params: [] });
    for (const m of res.body) {
      expect([...m.required_params, ...m.optional_params].sort()).toEqual(Object.keys(m.params.properties ?? {}).sort());
    }
  });
});

describe('an experiment as Evalap shows it', () => {
  let id: number;
  beforeAll(async () => {
    const res = await api.call('POST', '/v1/experiment', {
      body: { name: 'ids', dataset: 'shapes', model: byo('ids', { execution_time: [1.5, 2, 0] }), judge_model: 'a-judge', metrics: ['exact_match', 'generation_time'] },
    });
    expect(res.status).toBe(200);
    id = res.body.id;
  });

  it('gives its model, judge, answers and observations ids, unique and stable', async () => {
    const { rows: [result] } = await api.pool.query(`SELECT id FROM result WHERE experiment_id = $1 AND metric_name = 'exact_match'`, [id]);
    await api.pool.query(`INSERT INTO observation (result_id, num_line, score, execution_time) VALUES ($1, 0, 1, 250), ($1, 2, 0, 4000)`, [result.id]);
    const res = await api.call('GET', `/v1/experiment/${id}?with_results=true&with_answers=true`);
    expect(res.status).toBe(200);
    expect(res.body.model.id).toBe(2 * id - 1);
    expect(res.body.judge_model.id).toBe(2 * id);
    expect(res.body.answers.map((a: { id: number }) => a.id)).toEqual([0, 1, 2].map((n) => id * 2 ** 31 + n));
    const observed = res.body.results.find((r: { id: number }) => r.id === result.id).observation_table;
    expect(observed.map((o: { id: number; execution_time: number }) => [o.id, o.execution_time])).toEqual([[result.id * 2 ** 31, 0.25], [result.id * 2 ** 31 + 2, 4]]);
    const again = await api.call('GET', `/v1/experiment/${id}?with_answers=true`);
    expect(again.body.answers.map((a: { id: number }) => a.id)).toEqual(res.body.answers.map((a: { id: number }) => a.id));
  });

  it('shows its dataset with Evalap\'s parquet fields, empty: there is no parquet file', async () => {
    const res = await api.call('GET', `/v1/experiment/${id}`);
    expect(res.body.dataset).toMatchObject({ name: 'shapes', size: 3, parquet_size: 0, parquet_columns: [] });
  });

  it('takes bring-your-own execution_time in seconds, shows it in seconds, and generation_time scores it in seconds', async () => {
    const res = await api.call('GET', `/v1/experiment/${id}?with_answers=true`);
    expect(res.body.answers.map((a: { execution_time: number }) => a.execution_time)).toEqual([1.5, 2, 0]);
    // What the runner reads for the row and scores: 1.5 seconds, not 0.0015.
    const [state] = await rowStates(api.pool, [{ experiment_id: id, num_line: 0 }]);
    expect(scoreInline('generation_time', null, { output: state.answer!.answer!, execution_time: state.answer!.execution_time })).toEqual({ score: 1.5, observation: null });
  });

  it('refuses a negative execution_time, naming the row', async () => {
    const res = await api.call('POST', '/v1/experiment', { body: { name: 'neg', dataset: 'shapes', model: byo('neg', { execution_time: [1, -1, 2] }), metrics: ['exact_match'] } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('model.execution_time.1');
  });
});

describe('POST /v1/retry/experiment_set/{id}', () => {
  it('answers with Evalap\'s RetryRuns lists about the experiments it reopens, besides the reopened ids', async () => {
    const gen = { name: 'gen', base_url: 'http://127.0.0.1:9/v1' };
    const metrics = ['exact_match'];
    const { setId, ids: [failedAnswers, failedObservations, running, stopped, done] } = await createSet('retry-set', [
      { name: 'failed-answers', dataset: 'shapes', metrics, model: gen },
      { name: 'failed-observations', dataset: 'shapes', metrics, model: byo('fo') },
      { name: 'running', dataset: 'shapes', metrics, model: gen },
      { name: 'stopped', dataset: 'shapes', metrics, model: gen },
      { name: 'done', dataset: 'shapes', metrics, model: byo('done') },
    ]);
    const state = (e: number, status: string, tries: number, successes: number) =>
      api.pool.query('UPDATE experiment SET experiment_status = $2, num_try = $3, num_success = $4 WHERE id = $1', [e, status, tries, successes]);
    await state(failedAnswers, 'finished', 3, 2);
    await setResult(failedAnswers, 'exact_match', { tries: 1 }); // rows never observed, but its answers are redone first
    await state(failedObservations, 'finished', 3, 3);
    await setResult(failedObservations, 'exact_match', { tries: 3, successes: 2 });
    await state(running, 'running_answers', 1, 0);
    await state(stopped, 'stopped', 1, 1);
    await state(done, 'finished', 3, 3);
    await setResult(done, 'exact_match', { tries: 3 });
    const { rows } = await api.pool.query('SELECT experiment_id, id FROM result WHERE experiment_id = ANY($1::int[])', [[failedAnswers, failedObservations]]);
    const resultOf = Object.fromEntries(rows.map((r) => [r.experiment_id, r.id]));

    const res = await api.call('POST', `/v1/retry/experiment_set/${setId}`);
    expect(res.status).toBe(200);
    expect(res.body.reopened_experiment_ids.sort()).toEqual([failedAnswers, failedObservations, stopped].sort());
    expect(res.body).toMatchObject({
      experiment_ids: [failedAnswers],
      result_ids: [resultOf[failedObservations]],
      unfinished_experiment_ids: [stopped],
      unfinished_result_ids: [resultOf[failedAnswers]],
    });
  });
});

describe('GET /v1/ops_metrics and /v1/ops_eco', () => {
  it('counts what exists, as Evalap\'s ops page reads it', async () => {
    const own = await startApi(ANY_JUDGE);
    try {
      await own.call('POST', '/v1/dataset', { body: { name: 'ops', readme: '', df: makeDf(4) } });
      await own.call('POST', '/v1/dataset', { body: { name: 'ops-unused', readme: '', df: makeDf(1) } });
      const set = await own.call('POST', '/v1/experiment_set', {
        body: { name: 'ops-set', readme: '', experiments: [
          { name: 'a', dataset: 'ops', model: { aliased_name: 'mine', output: ['1', '2', '3', '4'] }, metrics: ['exact_match', 'output_length'] },
          { name: 'b', dataset: 'ops', model: { name: 'gen', base_url: 'http://127.0.0.1:9/v1' }, judge_model: 'judge', metrics: ['judge_notator'] },
        ] },
      });
      expect(set.status).toBe(200);
      const [, b] = set.body.experiments.map((e: { id: number }) => e.id);
      // One generated answer and one observation stored, as the runner's commit would.
      await own.pool.query(`INSERT INTO answer (experiment_id, num_line, answer) VALUES ($1, 0, 'x')`, [b]);
      await own.pool.query('UPDATE experiment SET num_try = 1, num_success = 1 WHERE id = $1', [b]);
      await own.pool.query(`UPDATE result SET num_try = 1, num_success = 1 WHERE experiment_id = $1`, [b]);

      const res = await own.call('GET', '/v1/ops_metrics');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        experiment_sets: 1,
        unique_experiments: 2,
        unique_answers: 5,
        unique_metrics: 3,
        unique_observations: 1,
        unique_datasets: 2,
        distinct_models: [{ name: '', aliased_name: 'mine' }, { name: 'gen', aliased_name: null }, { name: 'judge', aliased_name: null }],
      });
      const { rows } = await own.pool.query('SELECT count(*)::int AS n FROM answer');
      expect(res.body.unique_answers).toBe(rows[0].n);
    } finally {
      await own.close();
    }
  });

  it('answers ops_eco in Evalap\'s shape, empty: no emission is measured here', async () => {
    const res = await api.call('GET', '/v1/ops_eco');
    expect(res.status).toBe(200);
    const none = { total_emissions: {}, total_entries_with_emissions: 0, first_emission_date: null };
    expect(res.body).toEqual({ answers: none, observation_table: none });
  });
});

describe('the OpenAPI document', () => {
  it('describes the Evalap fields of these responses', async () => {
    const doc = (await api.call('GET', '/v1/openapi.json')).body;
    const schema = (name: string) => doc.components.schemas[name];
    expect(schema('LeaderboardEntry').required).toEqual(expect.arrayContaining(['main_metric_score', 'other_metrics', 'system_prompt', 'sampling_param', 'extra_param', 'experiment_set_name', 'summary']));
    expect(schema('Metric').required).toEqual(expect.arrayContaining(['required_params', 'optional_params']));
    expect(schema('Answer').required).toEqual(expect.arrayContaining(['id']));
    expect(schema('Observation').required).toEqual(expect.arrayContaining(['id']));
    expect(schema('Model').required).toEqual(expect.arrayContaining(['id']));
    expect(schema('Dataset').required).toEqual(expect.arrayContaining(['parquet_size', 'parquet_columns']));
    expect(schema('OpsMetrics').required).toEqual(expect.arrayContaining(['experiment_sets', 'unique_experiments', 'unique_answers', 'unique_metrics', 'unique_observations', 'distinct_models']));
    expect(schema('OpsEco').required).toEqual(['answers', 'observation_table']);
    expect(doc.paths['/v1/ops_metrics'].get).toBeDefined();
    expect(doc.paths['/v1/ops_eco'].get).toBeDefined();
    expect(doc.paths['/v1/leaderboard'].get.parameters.find((p: { name: string }) => p.name === 'metric_name').schema.default).toBe('judge_notator');
  });
});
