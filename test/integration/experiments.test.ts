import { makeDf, startApi, type TestApi } from '../support/api.js';

/** Judge names are resolved at launch: an endpoint that serves any name (never called here), and a default judge. */
const ANY_JUDGE = { EVALAP_JUDGE_BASE_URL: 'http://127.0.0.1:9/v1', EVALAP_JUDGE_MODELS: '*', EVALAP_JUDGE_MODEL: 'judge' };

let api: TestApi;
const SECRET = 'sk-test-provider-key-0123456789';
const model = { name: 'gpt-test', base_url: 'http://127.0.0.1:9/v1', api_key: SECRET, sampling_params: { temperature: 0 } };

beforeAll(async () => {
  api = await startApi(ANY_JUDGE);
  const res = await api.call('POST', '/v1/dataset', { body: { name: 'qa', readme: 'r', df: makeDf(10, (i) => ({ topic: i % 2 ? 'odd' : 'even' })) } });
  expect(res.status).toBe(200);
});
afterAll(() => api.close());
beforeEach(() => api.purge());

const experiment = (over: Record<string, unknown> = {}) => ({ name: 'exp', dataset: 'qa', model, metrics: ['exact_match'], ...over });

describe('POST /v1/experiment', () => {
  it('creates a pending experiment, seals the provider key and enqueues one fan-out task', async () => {
    const res = await api.call('POST', '/v1/experiment', { body: experiment({ metrics: ['exact_match', { name: 'contains', params: { ignore_case: true }, aliased_name: 'contains_ci' }] }) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ experiment_status: 'pending', num_total: 10, num_try: 0, num_success: 0, num_metrics: 2, dataset: { name: 'qa', size: 10 } });
    expect(res.body.model).toMatchObject({ name: 'gpt-test', has_api_key: true, has_raw_output: false });
    expect(res.text).not.toContain(SECRET);
    expect(res.body.results.map((r: { metric_aliased_name: string }) => r.metric_aliased_name)).toEqual(['exact_match', 'contains_ci']);
    const { rows } = await api.pool.query('SELECT model_api_key, model::text AS model FROM experiment WHERE id = $1', [res.body.id]);
    expect(rows[0].model_api_key).toMatch(/^v1:/);
    expect(rows[0].model_api_key).not.toContain(SECRET);
    expect(rows[0].model).not.toContain(SECRET);
    expect(await api.core.secrets.open(rows[0].model_api_key)).toBe(SECRET);
    expect(await api.messages()).toEqual([{ type: 'fanout', experiment_id: res.body.id, stage: 'answers', from: 0 }]);
  });

  it('stores bring-your-own outputs as answers of the sampled rows', async () => {
    const res = await api.call('POST', '/v1/experiment', {
      body: experiment({ model: { aliased_name: 'mine', output: ['a', 'b', 'c'], execution_time: [1, 2, 3], retrieval_context: [['x'], ['y'], ['z']] }, sample: [7, 2, 5], metrics: ['exact_match', 'faithfulness'] }),
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ num_total: 3, num_try: 3, num_success: 3, sample: [7, 2, 5], model: { aliased_name: 'mine', has_raw_output: true, has_api_key: false } });
    const full = await api.call('GET', `/v1/experiment/${res.body.id}?with_answers=true`);
    expect(full.body.answers.map((a: { num_line: number; answer: string }) => [a.num_line, a.answer])).toEqual([[2, 'b'], [5, 'c'], [7, 'a']]);
    expect(full.body.answers[0]).toMatchObject({ execution_time: 2, retrieval_context: ['y'], error_msg: null });
  });

  it('creates an inline dataset with the experiment', async () => {
    const res = await api.call('POST', '/v1/experiment', { body: experiment({ dataset: { name: 'inline-ds', readme: '', df: makeDf(4) } }) });
    expect(res.status).toBe(200);
    expect(res.body.dataset).toMatchObject({ name: 'inline-ds', size: 4 });
  });

  it('allows the same metric twice under different aliased names', async () => {
    const res = await api.call('POST', '/v1/experiment', {
      body: experiment({ metrics: [{ name: 'rouge', params: { variant: 'rouge1' }, aliased_name: 'r1' }, { name: 'rouge', params: { variant: 'rouge2' }, aliased_name: 'r2' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { metric_params: unknown }) => r.metric_params)).toEqual([{ variant: 'rouge1' }, { variant: 'rouge2' }]);
  });

  const invalid: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown dataset', { dataset: 'nope' }, /dataset: no dataset named "nope"/],
    ['an unknown metric', { metrics: ['telepathy'] }, /metrics.0: unknown metric "telepathy"/],
    ['a metric needing a missing column', { metrics: ['judge_adhoc'].map((name) => ({ name, params: { prompt: 'Rate {{output}} against {{rubric}}' } })) }, /requires the field "rubric"/],
    ['bad metric params', { metrics: [{ name: 'rouge', params: { variant: 'rouge9' } }] }, /metrics.0.params.variant/],
    ['an unknown metric param', { metrics: [{ name: 'exact_match', params: { fuzzy: true } }] }, /metrics.0.params.fuzzy|unknown|Unrecognized/i],
    ['a duplicated metric name', { metrics: ['exact_match', 'exact_match'] }, /used twice/],
    ['a sample index out of range', { sample: [0, 10] }, /sample.1: row 10 does not exist: the dataset has 10 rows/],
    ['duplicated sample indices', { sample: [1, 1] }, /unique/],
    ['outputs of the wrong length', { model: { aliased_name: 'm', output: ['a'] } }, /model.output: has 1 items but the experiment has 10 rows/],
    ['a model with neither output nor base_url', { model: { name: 'm' } }, /base_url/],
    ['a non-http base_url', { model: { name: 'm', base_url: 'file:///etc/passwd' } }, /base_url/],
    ['an unknown field', { colour: 'red' }, /colour: unknown field/],
    ['an unknown experiment set', { experiment_set_id: 424242 }, /experiment_set_id: no experiment set 424242/],
  ];
  it.each(invalid)('refuses %s with a 400 naming it, and writes nothing', async (_name, over, detail) => {
    const before = await api.footprint();
    const res = await api.call('POST', '/v1/experiment', { body: experiment(over) });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(detail);
    expect(res.text).not.toContain(SECRET);
    expect(await api.footprint()).toEqual(before);
  });
});

describe('reading experiments', () => {
  let ids: number[];
  beforeAll(async () => {
    ids = [];
    for (let i = 0; i < 5; i++) ids.push((await api.call('POST', '/v1/experiment', { body: experiment({ name: `page-${i}` }) })).body.id);
  });

  it('pages through experiments with an opaque cursor', async () => {
    const seen: number[] = [];
    let path = '/v1/experiments?limit=2';
    for (let pages = 0; pages < 50; pages++) {
      const res = await api.call('GET', path);
      expect(res.status).toBe(200);
      expect(res.body.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.map((e: { id: number }) => e.id));
      const next = res.headers.get('x-next-cursor');
      if (!next) break;
      expect(res.headers.get('link')).toContain('rel="next"');
      path = `/v1/experiments?limit=2&cursor=${next}`;
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(ids));
    expect((await api.call('GET', '/v1/experiments?cursor=garbage')).status).toBe(400);
    expect((await api.call('GET', '/v1/experiments?limit=0')).status).toBe(400);
  });

  it('filters orphans and members of a set', async () => {
    const set = await api.call('POST', '/v1/experiment_set', { body: { name: 'filter-set', readme: '', experiments: [experiment({ name: 'in-set' })] } });
    const inSet = await api.call('GET', `/v1/experiments?set_id=${set.body.id}`);
    expect(inSet.body.map((e: { name: string }) => e.name)).toEqual(['in-set']);
    const orphans = await api.call('GET', '/v1/experiments?orphan=true&limit=1000');
    expect(orphans.body.every((e: { experiment_set_id: number | null }) => e.experiment_set_id === null)).toBe(true);
    expect(orphans.body.map((e: { id: number }) => e.id)).toEqual(expect.arrayContaining(ids));
  });

  it('shows results, answers and the dataset on request', async () => {
    const res = await api.call('GET', `/v1/experiment/${ids[0]}?with_results=true&with_answers=true&with_dataset=true`);
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ metric_name: 'exact_match', metric_status: 'pending', num_try: 0, observation_table: [], summary: { mean: null, support: 0 } });
    expect(res.body.answers).toEqual([]);
    expect(JSON.parse(res.body.dataset.df)).toHaveLength(10);
    expect((await api.call('GET', '/v1/experiment/987654')).status).toBe(404);
  });
});

describe('PATCH and DELETE /v1/experiment/{id}', () => {
  it('adds metrics and enqueues their observations over the stored answers', async () => {
    const created = await api.call('POST', '/v1/experiment', { body: experiment({ model: { aliased_name: 'byo', output: Array(10).fill('x') } }) });
    await api.purge();
    const res = await api.call('PATCH', `/v1/experiment/${created.body.id}`, { body: { metrics: ['contains', { name: 'exact_match', aliased_name: 'em2', params: { ignore_case: true } }] } });
    expect(res.status).toBe(200);
    expect(res.body.num_metrics).toBe(3);
    const [task] = await api.messages();
    expect(task).toMatchObject({ type: 'fanout', experiment_id: created.body.id, stage: 'observations' });
    expect(task.result_ids).toHaveLength(2);
  });

  it('reruns answers of a generated experiment but not of bring-your-own outputs', async () => {
    const generated = await api.call('POST', '/v1/experiment', { body: experiment() });
    await api.pool.query(`INSERT INTO answer (experiment_id, num_line, answer) VALUES ($1, 0, 'old')`, [generated.body.id]);
    await api.purge();
    const res = await api.call('PATCH', `/v1/experiment/${generated.body.id}`, { body: { rerun_answers: true } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ experiment_status: 'pending', num_try: 0 });
    expect((await api.pool.query('SELECT count(*)::int AS n FROM answer WHERE experiment_id = $1', [generated.body.id])).rows[0].n).toBe(0);
    expect(await api.messages()).toEqual([{ type: 'fanout', experiment_id: generated.body.id, stage: 'answers', from: 0 }]);

    const byo = await api.call('POST', '/v1/experiment', { body: experiment({ model: { aliased_name: 'byo', output: Array(10).fill('x') } }) });
    const refused = await api.call('PATCH', `/v1/experiment/${byo.body.id}`, { body: { rerun_answers: true } });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/brought its own outputs/);
  });

  it('deletes an experiment, after which its dataset can be deleted', async () => {
    await api.call('POST', '/v1/dataset', { body: { name: 'short-lived', readme: '', df: makeDf(2) } });
    const created = await api.call('POST', '/v1/experiment', { body: experiment({ dataset: 'short-lived' }) });
    const dataset = created.body.dataset.id;
    const refused = await api.call('DELETE', `/v1/dataset/${dataset}`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/used by experiments/);
    expect((await api.call('DELETE', `/v1/experiment/${created.body.id}`)).status).toBe(200);
    expect((await api.call('GET', `/v1/experiment/${created.body.id}`)).status).toBe(404);
    expect((await api.call('DELETE', `/v1/dataset/${dataset}`)).status).toBe(200);
  });
});

describe('POST /v1/stop/experiment/{id} and /v1/retry/experiment/{id}', () => {
  const statusOf = async (id: number) => (await api.pool.query('SELECT experiment_status FROM experiment WHERE id = $1', [id])).rows[0].experiment_status as string;
  const resultStatuses = async (id: number) => (await api.pool.query('SELECT metric_status FROM result WHERE experiment_id = $1 ORDER BY id', [id])).rows.map((r) => r.metric_status as string);
  /** Marks every answer and observation of an experiment as done and successful. */
  const complete = async (id: number) => {
    await api.pool.query(`UPDATE experiment SET experiment_status = 'finished', num_try = num_total, num_success = num_total WHERE id = $1`, [id]);
    await api.pool.query(`UPDATE result r SET metric_status = 'finished', num_try = e.num_total, num_success = e.num_total FROM experiment e WHERE e.id = r.experiment_id AND e.id = $1`, [id]);
  };

  it('stops an unfinished experiment with its unfinished results, answering with the experiment', async () => {
    const created = await api.call('POST', '/v1/experiment', { body: experiment({ name: 'to-stop', metrics: ['exact_match', 'contains'] }) });
    const [first] = created.body.results;
    await api.pool.query(`UPDATE experiment SET experiment_status = 'running_metrics' WHERE id = $1`, [created.body.id]);
    await api.pool.query(`UPDATE result SET metric_status = 'finished' WHERE id = $1`, [first.id]);
    await api.purge();
    const res = await api.call('POST', `/v1/stop/experiment/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: created.body.id, name: 'to-stop', experiment_status: 'stopped', dataset: { name: 'qa' } });
    expect(res.body.results.map((r: { metric_status: string }) => r.metric_status)).toEqual(['finished', 'stopped']);
    expect(await resultStatuses(created.body.id)).toEqual(['finished', 'stopped']);
    expect(await api.messages()).toEqual([]);
  });

  it('leaves a finished experiment finished when asked to stop it', async () => {
    const created = await api.call('POST', '/v1/experiment', { body: experiment({ name: 'already-done' }) });
    await complete(created.body.id);
    const res = await api.call('POST', `/v1/stop/experiment/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body.experiment_status).toBe('finished');
    expect(await resultStatuses(created.body.id)).toEqual(['finished']);
  });

  it('retries an experiment with failed work: it is reopened and gets one retry task, which the runner narrows to what failed', async () => {
    const created = await api.call('POST', '/v1/experiment', { body: experiment({ name: 'to-retry' }) });
    await complete(created.body.id);
    await api.pool.query('UPDATE experiment SET num_success = num_total - 1 WHERE id = $1', [created.body.id]);
    await api.purge();
    const res = await api.call('POST', `/v1/retry/experiment/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: created.body.id, experiment_status: 'pending', dataset: { name: 'qa' } });
    expect(await api.messages()).toEqual([{ type: 'retry', experiment_id: created.body.id }]);
  });

  it('resumes a stopped experiment on retry', async () => {
    const created = await api.call('POST', '/v1/experiment', { body: experiment({ name: 'stop-then-retry' }) });
    await api.call('POST', `/v1/stop/experiment/${created.body.id}`);
    expect(await statusOf(created.body.id)).toBe('stopped');
    await api.purge();
    const res = await api.call('POST', `/v1/retry/experiment/${created.body.id}`);
    expect(res.body.experiment_status).toBe('pending');
    expect(await resultStatuses(created.body.id)).toEqual(['pending']);
    expect(await api.messages()).toEqual([{ type: 'retry', experiment_id: created.body.id }]);
  });

  it('leaves an experiment with nothing failed or missing as it is, enqueuing nothing', async () => {
    const created = await api.call('POST', '/v1/experiment', { body: experiment({ name: 'nothing-to-retry' }) });
    await complete(created.body.id);
    await api.purge();
    const res = await api.call('POST', `/v1/retry/experiment/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body.experiment_status).toBe('finished');
    expect(await api.messages()).toEqual([]);
  });

  it('stops and retries one experiment of a set without touching its siblings', async () => {
    const set = await api.call('POST', '/v1/experiment_set', { body: { name: 'siblings', readme: '', experiments: [experiment({ name: 'one' }), experiment({ name: 'two' })] } });
    const [one, two] = set.body.experiments.map((e: { id: number }) => e.id);
    await api.purge();
    expect((await api.call('POST', `/v1/stop/experiment/${one}`)).body.experiment_status).toBe('stopped');
    expect([await statusOf(one), await statusOf(two)]).toEqual(['stopped', 'pending']);
    expect((await api.call('GET', `/v1/experiment_set/${set.body.id}`)).body.status).toBe('running');
    expect((await api.call('POST', `/v1/retry/experiment/${one}`)).body.experiment_status).toBe('pending');
    expect(await api.messages()).toEqual([{ type: 'retry', experiment_id: one }]);
  });

  it('answers 404 for an unknown experiment, writing nothing', async () => {
    const before = await api.footprint();
    for (const path of ['/v1/stop/experiment/987654', '/v1/retry/experiment/987654']) {
      const res = await api.call('POST', path);
      expect(res.status).toBe(404);
      expect(res.body.detail).toMatch(/experiment 987654 not found/);
    }
    expect(await api.footprint()).toEqual(before);
  });

  it('lists both routes in the OpenAPI document, answering an experiment', async () => {
    const { paths } = (await api.call('GET', '/v1/openapi.json')).body;
    for (const path of ['/v1/stop/experiment/{id}', '/v1/retry/experiment/{id}']) {
      expect(paths[path].post.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Experiment' });
      expect(paths[path].post.responses['404']).toBeDefined();
    }
  });
});
