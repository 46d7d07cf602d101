import { makeDf, startApi, type TestApi } from '../support/api.js';

let api: TestApi;
const model = { name: 'base-model', base_url: 'http://127.0.0.1:9/v1', sampling_params: { temperature: 0.2, max_tokens: 100 } };
const experiment = (name: string, over: Record<string, unknown> = {}) => ({ name, dataset: 'sets-qa', model, metrics: ['exact_match'], ...over });

beforeAll(async () => {
  api = await startApi();
  expect((await api.call('POST', '/v1/dataset', { body: { name: 'sets-qa', readme: '', df: makeDf(6) } })).status).toBe(200);
});
afterAll(() => api.close());
beforeEach(() => api.purge());

describe('POST /v1/experiment_set', () => {
  it('creates a set of explicit experiments, each launched with its own fan-out task', async () => {
    const res = await api.call('POST', '/v1/experiment_set', { body: { name: 'explicit', readme: 'two models', experiments: [experiment('a'), experiment('b', { sample: [0, 1] })] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'explicit', status: 'pending', cv: null });
    expect(res.body.experiments.map((e: { name: string; num_total: number }) => [e.name, e.num_total])).toEqual([['a', 6], ['b', 2]]);
    const tasks = await api.messages();
    expect(tasks.map((t) => t.experiment_id).sort()).toEqual(res.body.experiments.map((e: { id: number }) => e.id).sort());
  });

  it('expands a cv grid: cartesian product, merged into common_params, repeated, named {set}__{i}', async () => {
    const cv = {
      common_params: { dataset: 'sets-qa', model, metrics: ['exact_match'] },
      grid_params: { model: [{ sampling_params: { temperature: 0 } }, { sampling_params: { temperature: 1 } }, { name: 'other-model' }], sample: [[0, 1], [2, 3, 4]] },
      repeat: 2,
    };
    const res = await api.call('POST', '/v1/experiment_set', { body: { name: 'grid', readme: '', cv } });
    expect(res.status).toBe(200);
    const exps = res.body.experiments;
    expect(exps).toHaveLength(3 * 2 * 2);
    expect(exps.map((e: { name: string }) => e.name)).toEqual(Array.from({ length: 12 }, (_, i) => `grid__${i}`));
    // The last grid parameter varies fastest and repeats are adjacent.
    expect(exps.map((e: { num_total: number }) => e.num_total)).toEqual([2, 2, 3, 3, 2, 2, 3, 3, 2, 2, 3, 3]);
    expect(exps[0].model).toMatchObject({ name: 'base-model', sampling_params: { temperature: 0, max_tokens: 100 } });
    expect(exps[4].model).toMatchObject({ name: 'base-model', sampling_params: { temperature: 1, max_tokens: 100 } });
    expect(exps[8].model).toMatchObject({ name: 'other-model', sampling_params: { temperature: 0.2, max_tokens: 100 } });
    expect(res.body.cv).toMatchObject({ repeat: 2 });
  });

  const invalid: [string, Record<string, unknown>, number, RegExp][] = [
    ['both experiments and cv', { experiments: [experiment('x')], cv: { common_params: {}, grid_params: { a: [1] } } }, 400, /cv: give either experiments or cv, not both/],
    ['a grid experiment that is invalid', { cv: { common_params: { dataset: 'sets-qa', model, metrics: ['exact_match'] }, grid_params: { sample: [[0], [99]] } } }, 400, /cv.grid.1.sample.0: row 99 does not exist/],
    ['a grid field of the wrong type', { cv: { common_params: { dataset: 'sets-qa', model }, grid_params: { metrics: ['exact_match'] } } }, 400, /cv.grid.0.metrics/],
    ['a grid too large', { cv: { common_params: {}, grid_params: { a: Array(40).fill(1), b: Array(30).fill(1) } } }, 400, /expands to 1200 experiments; at most 1000/],
    ['experiments with different judges', { experiments: [experiment('x', { judge_model: 'judge-a' }), experiment('y', { judge_model: 'judge-b' })] }, 400, /same judge_model/],
    ['one invalid experiment among valid ones', { experiments: [experiment('x'), experiment('y', { metrics: ['nope'] })] }, 400, /experiments.1.metrics.0: unknown metric/],
    ['an empty grid', { cv: { common_params: {}, grid_params: {} } }, 400, /grid_params: give at least one grid parameter/],
  ];
  it.each(invalid)('refuses %s, writing nothing', async (_name, over, status, detail) => {
    const before = await api.footprint();
    const res = await api.call('POST', '/v1/experiment_set', { body: { name: `bad-${_name}`, readme: '', ...over } });
    expect(res.status).toBe(status);
    expect(res.body.detail).toMatch(detail);
    expect(await api.footprint()).toEqual(before);
  });

  it('creates a set with no experiments as finished, since it has nothing to run, and follows the experiments added later', async () => {
    const created = await api.call('POST', '/v1/experiment_set', { body: { name: 'empty-at-first' } });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: 'empty-at-first', readme: '', status: 'finished', experiments: [] });
    expect(await api.messages()).toEqual([]);
    expect((await api.call('GET', `/v1/experiment_set/${created.body.id}`)).body.status).toBe('finished');
    expect((await api.call('GET', '/v1/experiment_sets')).body.find((s: { id: number }) => s.id === created.body.id).status).toBe('finished');
    // An empty list is the same set (Evalap's own clients send one).
    expect((await api.call('POST', '/v1/experiment_set', { body: { name: 'empty-list', experiments: [] } })).body).toMatchObject({ status: 'finished', experiments: [] });
    // Evalap clients fill a set later: with PATCH, or with POST /v1/experiment and its experiment_set_id.
    const patched = await api.call('PATCH', `/v1/experiment_set/${created.body.id}`, { body: { experiments: [experiment('added')] } });
    expect(patched.body).toMatchObject({ status: 'pending', experiments: [{ name: 'added', experiment_status: 'pending' }] });
    const other = await api.call('POST', '/v1/experiment_set', { body: { name: 'filled-by-post', readme: '' } });
    expect((await api.call('POST', '/v1/experiment', { body: { ...experiment('posted'), experiment_set_id: other.body.id } })).status).toBe(200);
    expect((await api.call('GET', `/v1/experiment_set/${other.body.id}`)).body).toMatchObject({ status: 'pending', experiments: [{ name: 'posted' }] });
  });

  it('refuses a duplicate set name with 409', async () => {
    await api.call('POST', '/v1/experiment_set', { body: { name: 'twice', readme: '' } });
    const before = await api.footprint();
    expect((await api.call('POST', '/v1/experiment_set', { body: { name: 'twice', readme: '', experiments: [experiment('z')] } })).status).toBe(409);
    expect(await api.footprint()).toEqual(before);
  });
});

describe('managing a set', () => {
  let setId: number;
  beforeAll(async () => {
    const res = await api.call('POST', '/v1/experiment_set', { body: { name: 'managed', readme: '', cv: { common_params: { dataset: 'sets-qa', model, metrics: ['exact_match'] }, grid_params: { sample: [[0], [1]] } } } });
    setId = res.body.id;
  });

  it('adds experiments with PATCH, numbering grid experiments after the existing ones', async () => {
    const res = await api.call('PATCH', `/v1/experiment_set/${setId}`, {
      body: { readme: 'more', cv: { common_params: { dataset: 'sets-qa', model, metrics: ['exact_match'] }, grid_params: { sample: [[2]] } } },
    });
    expect(res.status).toBe(200);
    expect(res.body.readme).toBe('more');
    expect(res.body.experiments.map((e: { name: string }) => e.name)).toEqual(['managed__0', 'managed__1', 'managed__2']);
    expect(await api.messages()).toHaveLength(1);
  });

  it('lists sets with their status and pages them', async () => {
    const first = await api.call('GET', '/v1/experiment_sets?limit=1');
    expect(first.status).toBe(200);
    expect(first.body).toHaveLength(1);
    const next = first.headers.get('x-next-cursor');
    expect(next).toBeTruthy();
    const second = await api.call('GET', `/v1/experiment_sets?limit=1&cursor=${next}`);
    expect(second.body[0].id).toBeGreaterThan(first.body[0].id);
  });

  it('retries what is missing with force: experiments with unfinished work, even still pending, are reopened and get a retry task', async () => {
    const set = await api.call('GET', `/v1/experiment_set/${setId}`);
    const [done, ...rest] = set.body.experiments.map((e: { id: number }) => e.id);
    // One experiment fully done: answers and observations all successful.
    await api.pool.query(`UPDATE experiment SET experiment_status = 'finished', num_try = num_total, num_success = num_total WHERE id = $1`, [done]);
    await api.pool.query(`UPDATE result SET metric_status = 'finished', num_try = 1, num_success = 1 WHERE experiment_id = $1`, [done]);
    const res = await api.call('POST', `/v1/retry/experiment_set/${setId}?force=true`);
    expect(res.status).toBe(200);
    expect(res.body.reopened_experiment_ids.sort()).toEqual(rest.sort());
    // In Evalap's terms: rows never answered, no failed answer.
    expect(res.body).toMatchObject({ experiment_ids: [], result_ids: [], unfinished_result_ids: [] });
    expect(res.body.unfinished_experiment_ids.sort()).toEqual(rest.sort());
    const tasks = await api.messages();
    expect(tasks.map((t) => t.experiment_id).sort()).toEqual(rest.sort());
    expect(tasks.every((t) => t.type === 'retry')).toBe(true);
  });

  it('stops a set: unfinished experiments become stopped, finished ones stay finished', async () => {
    const res = await api.call('POST', `/v1/stop/experiment_set/${setId}`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('stopped');
    const statuses = res.body.experiments.map((e: { experiment_status: string }) => e.experiment_status);
    expect(statuses).toEqual(['finished', 'stopped', 'stopped']);
    const { rows } = await api.pool.query(`SELECT DISTINCT metric_status FROM result r JOIN experiment e ON e.id = r.experiment_id WHERE e.experiment_set_id = $1 AND e.experiment_status = 'stopped'`, [setId]);
    expect(rows).toEqual([{ metric_status: 'stopped' }]);
  });

  it('answers 404 for the actions on an unknown set', async () => {
    for (const [method, path] of [['GET', '/v1/experiment_set/777777'], ['POST', '/v1/stop/experiment_set/777777'], ['POST', '/v1/retry/experiment_set/777777'], ['DELETE', '/v1/experiment_set/777777']]) {
      expect((await api.call(method, path)).status).toBe(404);
    }
  });

  it('deletes a set with its experiments', async () => {
    expect((await api.call('DELETE', `/v1/experiment_set/${setId}`)).status).toBe(200);
    expect((await api.call('GET', `/v1/experiment_set/${setId}`)).status).toBe(404);
    expect((await api.call('GET', `/v1/experiments?set_id=${setId}`)).body).toEqual([]);
  });
});
