/**
 * Evalap's Streamlit UI (evalap/ui/demo_streamlit/ in github:etalab-ia/evalap):
 * every API call it makes through utils.fetch, with the query string that
 * function builds by hand (`f"{k}={v}"`, so Python's True is sent as
 * "True"), and the response read field by field as the views read it.
 *
 * Internet stand-ins: the Albert/OpenAI model and judge URLs of the test
 * evaluation pages are the stub model server's. The UI's direct calls to
 * providers (GET {provider}/collections, /models to validate a key) are not
 * calls to Evalap's API and are not replayed.
 */
import { accepted, compatFixtures, key, pyRequest, type PyResponse, qaRows, readDf, toJsonColumns, toJsonRecords, uiQuery } from './python-client.js';

const f = compatFixtures();
// utils.fetch sends Authorization only when it has a token (EVALAP_FRONTEND_TOKEN for GETs).
const TOKEN = { Authorization: 'Bearer frontend-token-stand-in' };
const get = (endpoint: string, data?: Record<string, unknown>) => pyRequest(f.api, 'get', `/v1${endpoint}${uiQuery(data)}`, { headers: TOKEN });
const post = (endpoint: string, data: unknown) => pyRequest(f.api, 'post', `/v1${endpoint}`, { json: data, headers: TOKEN });
/** utils.fetch returns response.json() only on 200/201, else None (and the view shows an error). */
const ok = (res: PyResponse) => accepted(res, [200, 201]);

let datasetId: number;
let expsetId: number;
let orphanId: number;

beforeAll(async () => {
  const ds = await post('/dataset', { name: 'test_service_public', readme: 'ui replay', default_metric: 'judge_notator', df: toJsonRecords(qaRows(3, 'sp')) });
  datasetId = ds.body.id;
  const common_params = { dataset: 'test_service_public', metrics: ['judge_precision', 'output_length'], judge_model: { name: 'gpt-4.1', base_url: f.stubUrl, api_key: 'stand-in' } };
  const grid_params = { model: [{ name: 'openweight-small', base_url: f.stubUrl, api_key: 'stand-in' }, { aliased_name: 'own-system', output: ['a', 'b', 'c'] }] };
  const set = await post('/experiment_set', { name: 'ui-set', readme: 'a set the UI lists', cv: { common_params, grid_params, repeat: 1 } });
  expsetId = set.body.id;
  const orphan = await post('/experiment', { name: 'orphan-one', dataset: 'test_service_public', model: { aliased_name: 'own', output: ['x', 'y', 'z'] }, metrics: ['output_length'] });
  orphanId = orphan.body.id;
  f.runner();
  for (const e of [...set.body.experiments, orphan.body]) await f.finished(e.id);
}, 60_000);

describe('evalap/ui/demo_streamlit/views/datasets.py, test_your_own_evaluation.py, test_standard_evaluation.py', () => {
  it('views/datasets.py: lists GET /datasets and reads created_at, name, columns or parquet_columns, columns_map, id, size or parquet_size, default_metric, compliance', async () => {
    const res = await get('/datasets');
    ok(res);
    const d = res.body.find((x: any) => x.id === datasetId);
    expect(Number.isNaN(Date.parse(d.created_at))).toBe(false);
    expect(d).toMatchObject({ name: 'test_service_public', default_metric: 'judge_notator', size: 3 });
    // `dataset['columns'] or dataset['parquet_columns']`: Python evaluates the second key only when the first is empty.
    expect(key(d, 'columns') || key(d, 'parquet_columns')).toEqual(expect.arrayContaining(['query', 'output_true']));
    expect(key(d, 'size') || key(d, 'parquet_size')).toBe(3);
    for (const k of ['columns_map', 'compliance', 'default_metric', 'id']) key(d, k);
  });

  it('views/datasets.py: previews a dataset with GET /dataset?id=…&with_df=True and reads data["df"] as JSON rows', async () => {
    const res = await get('/dataset', { id: datasetId, with_df: true });
    ok(res);
    expect(readDf(res.body.df)).toHaveLength(3);
  });

  it('views/datasets.py / test_your_own_evaluation.py: uploads a gold dataset with "df": df.to_json() and default_metric judge_notator, reading result["id"]', async () => {
    const res = await post('/dataset', { name: 'gold-upload', df: toJsonColumns(qaRows(2, 'gold')), readme: '', default_metric: 'judge_notator' });
    ok(res);
    expect(res.body.id).toEqual(expect.any(Number));
  });

  it('views/datasets.py / test_your_own_evaluation.py: checks an access key with GET /metrics and the user token', async () => {
    ok(await pyRequest(f.api, 'get', '/v1/metrics', { headers: { Authorization: 'Bearer user-key-stand-in' } }));
  });

  it('views/test_standard_evaluation.py: launches a test set with search extra_params, a system prompt, a judge dict and DEFAULT_METRICS + judge_notator', async () => {
    const model = { name: 'openweight-small', base_url: f.stubUrl, api_key: 'stand-in', system_prompt: 'Tu es un assistant.', sampling_params: { temperature: 0.2 }, extra_params: { search: true, search_args: { method: 'semantic', collections: [1, 2], k: 10 } } };
    const metrics = ['generation_time', 'nb_tokens_prompt', 'nb_tokens_completion', 'energy_consumption', 'gwp_consumption', 'judge_notator'];
    const expset = { name: '20250101_120000_launch_test_evaluation', readme: 'Experiment for_launch test', cv: { common_params: { dataset: 'test_service_public', metrics, judge_model: { name: 'openweight-medium', base_url: f.stubUrl, api_key: 'stand-in' } }, grid_params: { model: [model] }, repeat: 1 } };
    const res = await post('/experiment_set', expset);
    ok(res);
    expect(res.body.id).toEqual(expect.any(Number));
  });

  it('views/test_your_own_evaluation.py: launches a set of its own answers with DEFAULT_METRICS + judge_notator', async () => {
    const metrics = ['generation_time', 'nb_tokens_prompt', 'nb_tokens_completion', 'energy_consumption', 'gwp_consumption', 'judge_notator'];
    const expset = { name: 'test_service_public_experimentation_20250101_120000', readme: 'Test evaluation', cv: { common_params: { dataset: 'test_service_public', metrics, judge_model: { name: 'gpt-4', base_url: f.stubUrl, api_key: 'stand-in' } }, grid_params: { model: [{ aliased_name: 'custom_ai_system', output: ['a', 'b', 'c'] }] }, repeat: 1 } };
    const res = await post('/experiment_set', expset);
    ok(res);
    expect(res.body.id).toEqual(expect.any(Number));
  });
});

describe('evalap/ui/demo_streamlit/views/metrics.py, ops.py', () => {
  it('views/metrics.py: lists GET /metrics and reads name, require, description, type', async () => {
    const res = await get('/metrics');
    ok(res);
    expect(res.body.map((m: any) => m.name)).toEqual(expect.arrayContaining(['judge_precision', 'output_length']));
    for (const m of res.body) expect(m).toEqual(expect.objectContaining({ name: expect.any(String), require: expect.any(Array), description: expect.any(String), type: expect.any(String) }));
  });

  it('views/ops.py: reads GET /ops_metrics: experiment_sets, unique_experiments, unique_answers, unique_metrics, unique_observations, distinct_models', async () => {
    const res = await get('/ops_metrics');
    ok(res);
    for (const k of ['experiment_sets', 'unique_experiments', 'unique_answers', 'unique_metrics', 'unique_observations']) expect(res.body[k]).toEqual(expect.any(Number));
    for (const m of res.body.distinct_models) expect(typeof (m.aliased_name ?? m.name)).toBe('string');
  });

  // Eco figures are not computed yet: the totals are read only when an entry has emissions, as the view does.
  it('views/ops.py: reads GET /ops_eco: answers and observation_table total_entries_with_emissions (and their totals when > 0)', async () => {
    const res = await get('/ops_eco');
    ok(res);
    for (const source of ['answers', 'observation_table']) {
      const s = res.body[source];
      expect(s.total_entries_with_emissions).toEqual(expect.any(Number));
      if (s.total_entries_with_emissions > 0) expect(s).toMatchObject({ total_emissions: { energy: expect.any(Number), gwp: expect.any(Number) }, first_emission_date: expect.any(String) });
    }
  });
});

describe('evalap/ui/demo_streamlit/views/experiments_set.py, experimentset_utils.py', () => {
  // The view reads expe["dataset"]["size"] of every experiment of every set.
  it('views/experiments_set.py: lists GET /experiment_sets and computes each set\'s status from its experiments (num_try, num_observation_try, dataset.size, num_metrics)', async () => {
    const res = await get('/experiment_sets', {});
    ok(res);
    const set = res.body.find((s: any) => s.id === expsetId);
    expect(Number.isNaN(Date.parse(set.created_at))).toBe(false);
    expect(set).toMatchObject({ name: 'ui-set', readme: 'a set the UI lists' });
    for (const e of set.experiments) {
      expect(e).toMatchObject({ num_try: 3, num_success: 3, num_observation_try: 6, num_observation_success: 6, num_metrics: 2, experiment_status: 'finished' });
      expect(e.dataset.size * e.num_metrics).toBe(6);
    }
  });

  it('views/experiments_set.py: filters GET /experiment_sets?compliance=True and ?compliance=False', async () => {
    const only = await get('/experiment_sets', { compliance: true });
    const non = await get('/experiment_sets', { compliance: false });
    ok(only);
    ok(non);
    expect(only.body.map((s: any) => s.id)).not.toContain(expsetId);
    expect(non.body.map((s: any) => s.id)).toContain(expsetId);
  });

  it('views/experiments_set.py: lists orphan experiments with GET /experiments?orphan=True&backward=True and reads dataset.name, model.aliased_name/name, counts', async () => {
    const res = await get('/experiments', { orphan: true, backward: true });
    ok(res);
    expect(res.body.map((e: any) => e.id)).toEqual([orphanId]);
    const e = res.body[0];
    expect(e).toMatchObject({ name: 'orphan-one', experiment_status: 'finished', num_try: 3, num_success: 3, num_observation_try: 3, num_observation_success: 3, dataset: { name: 'test_service_public' } });
    expect(e.model.aliased_name ?? e.model.name).toBe('own');
    expect(Number.isNaN(Date.parse(e.created_at))).toBe(false);
  });

  it('views/experiments_set.py: opens a set with GET /experiment_set/{id} and reads name, id, created_at, experiments[].id', async () => {
    const res = await get(`/experiment_set/${expsetId}`);
    ok(res);
    expect(res.body).toMatchObject({ id: expsetId, name: 'ui-set' });
    expect(Number.isNaN(Date.parse(res.body.created_at))).toBe(false);
    expect(res.body.experiments).toHaveLength(2);
  });

  it('views/experiments_set.py: loads each experiment with ?with_results=True&with_eco=True and reads model, judge_model.name, dataset.name/size, results[].observation_table[].score', async () => {
    const set = (await get(`/experiment_set/${expsetId}`)).body;
    for (const { id } of set.experiments) {
      const res = await get(`/experiment/${id}`, { with_results: true, with_eco: true });
      ok(res);
      const e = res.body;
      expect(e.judge_model.name).toBe('gpt-4.1');
      expect(e.dataset).toMatchObject({ name: 'test_service_public', size: 3 });
      expect(e.model.aliased_name ?? e.model.name).toEqual(expect.any(String));
      for (const r of e.results) {
        expect(r.metric_aliased_name === undefined || r.metric_aliased_name === null || typeof r.metric_aliased_name === 'string').toBe(true);
        expect(r.observation_table.filter((x: any) => typeof x.score === 'number')).toHaveLength(3);
        expect(r).toMatchObject({ num_try: 3, num_success: 3 });
      }
    }
  });

  it('views/experiments_set.py: shows an experiment\'s rows with ?with_dataset=True&with_results=True: dataset.df, dataset.parquet_size, sample, answers[].num_line/answer, observation_table[].num_line', async () => {
    const set = (await get(`/experiment_set/${expsetId}`)).body;
    const res = await get(`/experiment/${set.experiments[0].id}`, { with_dataset: true, with_results: true });
    ok(res);
    const e = res.body;
    expect(readDf(e.dataset.df)).toHaveLength(3);
    expect(e.dataset).toHaveProperty('parquet_size');
    expect(e).toHaveProperty('sample');
    expect(e.answers.map((a: any) => a.num_line).sort()).toEqual([0, 1, 2]);
    for (const a of e.answers) for (const k of ['answer', 'error_msg']) expect(a).toHaveProperty(k);
    for (const r of e.results) expect(r.observation_table.map((o: any) => o.num_line).sort()).toEqual([0, 1, 2]);
  });

  // The set comes from views/experiments_set.py's fetch, each experiment with ?with_results=True&with_eco=True.
  it('experimentset_utils.py: turns a fetched set back into a create payload: results[].metric_name/metric_params/metric_aliased_name, dataset["name"], model and judge_model dicts', async () => {
    const set = (await get(`/experiment_set/${expsetId}`)).body;
    for (const { id } of set.experiments) {
      const e = (await get(`/experiment/${id}`, { with_results: true, with_eco: true })).body;
      expect(e.model).toEqual(expect.any(Object));
      expect(e.judge_model).toEqual(expect.any(Object));
      expect(e.dataset.name).toBe('test_service_public');
      expect(e.results.map((r: any) => r.metric_name).sort()).toEqual(['judge_precision', 'output_length']);
    }
  });
});
