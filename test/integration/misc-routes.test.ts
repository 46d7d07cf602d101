import { makeDf, startApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

describe('GET /v1/metrics', () => {
  it('lists every metric with its type, required fields, params schema and range', async () => {
    const res = await api.call('GET', '/v1/metrics');
    expect(res.status).toBe(200);
    const byName = Object.fromEntries(res.body.map((m: { name: string }) => [m.name, m]));
    expect(byName.exact_match).toMatchObject({ type: 'deterministic', require: ['output', 'output_true'], score_range: [0, 1], higher_is_better: true });
    expect(byName.judge_rambling).toMatchObject({ type: 'llm', higher_is_better: false, score_range: [1, 10] });
    expect(byName.faithfulness.require).toContain('retrieval_context');
    expect(byName.rouge.params.properties.variant.enum).toEqual(['rouge1', 'rouge2', 'rougeL', 'rougeLsum']);
    expect(byName.output_length.score_range).toEqual([0, null]);
  });
});

describe('GET /v1/leaderboard', () => {
  it('ranks experiments by the mean of a metric, from the stored aggregates, with std, support and a t-based 95% CI', async () => {
    await api.call('POST', '/v1/dataset', { body: { name: 'lb', readme: '', df: makeDf(5) } });
    const ids: number[] = [];
    for (const name of ['weak', 'strong']) {
      const res = await api.call('POST', '/v1/experiment', { body: { name, dataset: 'lb', model: { aliased_name: name, output: Array(5).fill('x') }, metrics: ['exact_match', 'output_length'] } });
      ids.push(res.body.id);
    }
    // Scores [0,0,1,0,1] for weak and [1,2,3,4,5]/5 for strong, as the runner would have aggregated them.
    const set = (id: number, n: number, sum: number, sumsq: number, min: number, max: number) =>
      api.pool.query(`UPDATE result SET num_try = $2, num_success = $2, score_count = $2, score_sum = $3, score_sumsq = $4, score_min = $5, score_max = $6 WHERE experiment_id = $1 AND metric_name = 'exact_match'`, [id, n, sum, sumsq, min, max]);
    await set(ids[0], 5, 2, 2, 0, 1);
    await set(ids[1], 5, 3, 55 / 25, 0.2, 1);
    const res = await api.call('GET', '/v1/leaderboard?metric_name=exact_match&dataset_name=lb');
    expect(res.status).toBe(200);
    expect(res.body.entries.map((e: { model_name: string }) => e.model_name)).toEqual(['strong', 'weak']);
    const strong = res.body.entries[0];
    expect(strong).toMatchObject({ metric_name: 'exact_match', dataset_name: 'lb', judge_model: null });
    expect(strong.summary.mean).toBeCloseTo(0.6, 12);
    expect(strong.summary.std).toBeCloseTo(0.31622776601683794, 12);
    expect(strong.summary.support).toBe(5);
    const half = (2.7764451051977987 * 0.31622776601683794) / Math.sqrt(5);
    expect(strong.summary.ci95[0]).toBeCloseTo(0.6 - half, 9);
    expect(strong.summary.ci95[1]).toBeCloseTo(0.6 + half, 9);
    expect((await api.call('GET', '/v1/leaderboard?metric_name=exact_match&limit=1')).body.entries).toHaveLength(1);
    expect((await api.call('GET', '/v1/leaderboard?limit=zero')).status).toBe(400);
    expect((await api.call('GET', '/v1/leaderboard?metric_name=absent')).body.entries).toEqual([]);
  });
});

describe('GET /v1/openapi.json', () => {
  it('describes every route with the schemas that validate it', async () => {
    const res = await api.call('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const paths = res.body.paths;
    for (const [path, method] of [
      ['/v1/dataset', 'post'], ['/v1/datasets', 'get'], ['/v1/dataset/{id}', 'get'], ['/v1/dataset/{id}', 'patch'], ['/v1/dataset/{id}', 'delete'], ['/v1/dataset/{id}/rows', 'post'],
      ['/v1/experiment', 'post'], ['/v1/experiments', 'get'], ['/v1/experiment/{id}', 'patch'], ['/v1/experiment_set', 'post'], ['/v1/experiment_sets', 'get'],
      ['/v1/stop/experiment_set/{id}', 'post'], ['/v1/retry/experiment_set/{id}', 'post'], ['/v1/metrics', 'get'], ['/v1/leaderboard', 'get'],
    ]) {
      expect(paths[path]?.[method]).toBeDefined();
    }
    const create = paths['/v1/experiment'].post.requestBody.content['application/json'].schema;
    const resolved = create.$ref ? res.body.components.schemas[create.$ref.split('/').pop()] : create;
    // No model is required: an experiment of dataset metrics alone has none, as in Evalap.
    expect(resolved.required).toEqual(expect.arrayContaining(['name', 'dataset']));
    expect(resolved.required).not.toContain('model');
    expect(resolved.additionalProperties).toBe(false);
    expect(paths['/v1/dataset'].post.requestBody.content['text/csv']).toBeDefined();
    // A CSV upload's metadata goes in the query string: its parameters are listed, none required (a JSON body takes none).
    const uploadParams = paths['/v1/dataset'].post.parameters.map((p: { name: string; in: string; required: boolean }) => [p.name, p.in, p.required]);
    expect(uploadParams).toEqual(expect.arrayContaining([['name', 'query', false], ['readme', 'query', false]]));
    // Every $ref points at a component that exists.
    const refs = [...JSON.stringify(res.body).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    for (const ref of refs) expect(res.body.components.schemas[ref]).toBeDefined();
  });
});

describe('GET /openapi.json', () => {
  it('serves the same document at the path Evalap serves it', async () => {
    const [ours, evalaps] = await Promise.all([api.call('GET', '/v1/openapi.json'), api.call('GET', '/openapi.json')]);
    expect(evalaps.status).toBe(200);
    expect(evalaps.body).toEqual(ours.body);
  });
});

describe('routing and health', () => {
  it('answers 404 to an unknown path and 405 with Allow to a wrong method', async () => {
    const missing = await api.call('GET', '/v1/nothing');
    expect(missing.status).toBe(404);
    const wrong = await api.call('PUT', '/v1/dataset/1', { body: {} });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, PATCH, DELETE');
  });

  it('reports 200 with each part up', async () => {
    const res = await api.call('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', checks: { database: { ok: true }, queue: { ok: true } } });
  });

  it('refuses a body on a route that takes none', async () => {
    const res = await api.call('POST', '/v1/stop/experiment_set/1', { raw: '{"x":1}' });
    expect(res.status).toBe(400);
  });
});
