/**
 * The query strings Evalap's clients send: Python booleans (`requests` turns
 * True into "True"), Evalap's list paging and filters, `?id=` on the dataset
 * lookup, `with_eco`, `force` on retry, and the `dataset` object that every
 * listed experiment carries.
 */
import { makeDf, startApi, type TestApi } from '../support/api.js';

let api: TestApi;
const model = { name: 'gpt-test', base_url: 'http://127.0.0.1:9/v1' };
/** Bring-your-own outputs: answered at creation, so answers exist without a runner. */
const raw = (n: number) => ({ aliased_name: 'mine', output: Array.from({ length: n }, (_, i) => `answer ${i}`) });

/** A query string as Python's `requests` builds it from a dict: booleans become True/False. */
const py = (params: Record<string, string | number | boolean>) =>
  new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v)])).toString();
const ids = (body: { id: number }[]) => body.map((e) => e.id);

let plain: { id: number; name: string; size: number; columns: string[] };
let regulated: { id: number; name: string; size: number; columns: string[]; compliance: boolean };
/** Orphans on each dataset, and two sets: one on the plain dataset, one on the regulated one. */
let orphanPlain: number;
let orphanRegulated: number;
let setPlain: { id: number; experiments: number[] };
let setRegulated: { id: number; experiments: number[] };

beforeAll(async () => {
  api = await startApi();
  plain = (await api.call('POST', '/v1/dataset', { body: { name: 'plain', readme: '', df: makeDf(3) } })).body;
  const csv = 'query,output_true,topic\nq0,a0,t\nq1,a1,t\n';
  const upload = await api.call('POST', `/v1/dataset?${py({ name: 'regulated', readme: 'r', compliance: true })}`, { raw: csv, contentType: 'text/csv' });
  expect(upload.status).toBe(200);
  regulated = upload.body;
  const orphan = async (name: string, dataset: string, size: number) => {
    const res = await api.call('POST', '/v1/experiment', { body: { name, dataset, model: raw(size), metrics: ['exact_match'] } });
    expect(res.status).toBe(200);
    return res.body.id as number;
  };
  const set = async (name: string, dataset: string, count: number) => {
    const experiments = Array.from({ length: count }, (_, i) => ({ name: `${name}-${i}`, dataset, model, metrics: ['exact_match'] }));
    const res = await api.call('POST', '/v1/experiment_set', { body: { name, readme: '', experiments } });
    expect(res.status).toBe(200);
    return { id: res.body.id as number, experiments: ids(res.body.experiments) };
  };
  orphanPlain = await orphan('orphan-plain', 'plain', 3);
  setPlain = await set('set-plain', 'plain', 2);
  orphanRegulated = await orphan('orphan-regulated', 'regulated', 2);
  setRegulated = await set('set-regulated', 'regulated', 1);
});
afterAll(() => api.close());
beforeEach(() => api.purge());

describe('Python booleans in query strings', () => {
  it('reads True and False, in any case, wherever a boolean is expected', async () => {
    expect(regulated.compliance).toBe(true);
    const withDf = await api.call('GET', `/v1/dataset/${plain.id}?${py({ with_df: true })}`);
    expect(withDf.status).toBe(200);
    expect(JSON.parse(withDf.body.df)).toHaveLength(3);
    const without = await api.call('GET', `/v1/dataset/${plain.id}?${py({ with_df: false })}`);
    expect(without.status).toBe(200);
    expect(without.body.df).toBeUndefined();
    for (const spelling of ['TRUE', 'tRuE', 'true', '1']) {
      expect((await api.call('GET', `/v1/dataset/${plain.id}?with_df=${spelling}`)).body.df).toBeDefined();
    }
    const experiment = await api.call('GET', `/v1/experiment/${orphanPlain}?${py({ with_results: true, with_answers: false })}`);
    expect(experiment.status).toBe(200);
    expect(experiment.body.results[0].observation_table).toEqual([]);
    expect(experiment.body.answers).toBeUndefined();
    const orphans = await api.call('GET', `/v1/experiments?${py({ orphan: true })}`);
    expect(ids(orphans.body)).toEqual([orphanPlain, orphanRegulated]);
  });

  it('refuses a value that is not a boolean, saying which ones are', async () => {
    for (const value of ['yes', 'Truee', '']) {
      const res = await api.call('GET', `/v1/dataset/${plain.id}?with_df=${value}`);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.errors)).toContain('expected true, false, 1 or 0');
    }
  });
});

describe('GET /v1/dataset?id=', () => {
  it('finds a dataset by id as by name, with its rows when asked', async () => {
    const byId = await api.call('GET', `/v1/dataset?${py({ id: regulated.id, with_df: true })}`);
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({ id: regulated.id, name: 'regulated', size: 2 });
    expect(JSON.parse(byId.body.df)).toEqual([
      { query: 'q0', output_true: 'a0', topic: 't' },
      { query: 'q1', output_true: 'a1', topic: 't' },
    ]);
    const byName = await api.call('GET', '/v1/dataset?name=regulated');
    expect(byName.body).toEqual((await api.call('GET', `/v1/dataset?id=${regulated.id}`)).body);
  });

  it('answers 404 for an unknown id and 400 for neither or both of id and name', async () => {
    expect((await api.call('GET', '/v1/dataset?id=987654')).status).toBe(404);
    for (const query of ['', '?with_df=True', `?id=${plain.id}&name=plain`, '?id=abc']) {
      expect((await api.call('GET', `/v1/dataset${query}`)).status).toBe(400);
    }
  });
});

describe('with_eco on GET /v1/experiment/{id}', () => {
  it('answers as Evalap\'s eco view does: results with their observations, and the answers', async () => {
    const res = await api.call('GET', `/v1/experiment/${orphanPlain}?${py({ with_results: true, with_eco: true })}`);
    expect(res.status).toBe(200);
    expect(res.body.answers.map((a: { num_line: number; answer: string }) => [a.num_line, a.answer])).toEqual([[0, 'answer 0'], [1, 'answer 1'], [2, 'answer 2']]);
    expect(res.body.results[0]).toHaveProperty('observation_table');
  });

  it('adds the answers and observations to with_dataset too, as Evalap\'s UI expects', async () => {
    const res = await api.call('GET', `/v1/experiment/${orphanPlain}?${py({ with_dataset: true, with_results: true })}`);
    expect(JSON.parse(res.body.dataset.df)).toHaveLength(3);
    expect(res.body.answers).toHaveLength(3);
  });
});

describe('Evalap\'s paging and filters on GET /v1/experiments', () => {
  it('pages by cursor in id order over every experiment when no Evalap parameter is given', async () => {
    const first = await api.call('GET', '/v1/experiments?limit=3');
    expect(ids(first.body)).toEqual([orphanPlain, ...setPlain.experiments]);
    expect(first.headers.get('x-next-cursor')).toBeTruthy();
  });

  it('lists orphans newest first with backward=True, as Evalap\'s UI asks, with no cursor', async () => {
    const res = await api.call('GET', `/v1/experiments?${py({ orphan: true, backward: true })}`);
    expect(res.status).toBe(200);
    expect(ids(res.body)).toEqual([orphanRegulated, orphanPlain]);
    expect(res.headers.get('x-next-cursor')).toBeNull();
  });

  it('gives each listed experiment its results, as Evalap\'s ExperimentWithResults, without observations', async () => {
    const res = await api.call('GET', `/v1/experiments?${py({ orphan: true, backward: true })}`);
    for (const expe of res.body) {
      expect(expe.results).toEqual([expect.objectContaining({ experiment_id: expe.id, metric_name: 'exact_match', summary: expect.any(Object) })]);
      expect(expe.results[0].observation_table).toBeUndefined();
    }
    const inSet = await api.call('GET', `/v1/experiments?${py({ set_id: setPlain.id })}`);
    expect(inSet.body.map((e: { results: unknown[] }) => e.results.length)).toEqual([1, 1]);
  });

  it('defaults to orphans, newest first, once skip is given, and pages by offset', async () => {
    expect(ids((await api.call('GET', '/v1/experiments?skip=0&limit=1')).body)).toEqual([orphanRegulated]);
    expect(ids((await api.call('GET', '/v1/experiments?skip=1&limit=1')).body)).toEqual([orphanPlain]);
    expect(ids((await api.call('GET', '/v1/experiments?skip=2&limit=1')).body)).toEqual([]);
    expect(ids((await api.call('GET', `/v1/experiments?${py({ skip: 0, backward: false })}`)).body)).toEqual([orphanPlain, orphanRegulated]);
    expect(ids((await api.call('GET', `/v1/experiments?${py({ skip: 0, orphan: false })}`)).body)).toEqual([...setRegulated.experiments, ...setPlain.experiments].sort((a, b) => b - a));
  });

  it('lists a set\'s experiments with set_id, even with Evalap\'s paging (where orphans are the default)', async () => {
    const res = await api.call('GET', `/v1/experiments?${py({ set_id: setPlain.id, backward: true })}`);
    expect(ids(res.body)).toEqual([...setPlain.experiments].reverse());
  });

  it('filters on the dataset\'s compliance flag, in either paging', async () => {
    expect(ids((await api.call('GET', `/v1/experiments?${py({ compliance: true, backward: true })}`)).body)).toEqual([orphanRegulated]);
    expect(ids((await api.call('GET', `/v1/experiments?${py({ compliance: true })}`)).body)).toEqual([orphanRegulated, ...setRegulated.experiments]);
    expect(ids((await api.call('GET', `/v1/experiments?${py({ compliance: false })}`)).body)).toEqual([orphanPlain, ...setPlain.experiments]);
  });

  it('refuses a cursor together with skip or backward, and a negative skip', async () => {
    const cursor = (await api.call('GET', '/v1/experiments?limit=1')).headers.get('x-next-cursor');
    for (const query of [`cursor=${cursor}&skip=0`, `cursor=${cursor}&backward=True`]) {
      const res = await api.call('GET', `/v1/experiments?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.errors[0].path).toBe('cursor');
    }
    expect((await api.call('GET', '/v1/experiments?skip=-1')).status).toBe(400);
  });
});

describe('Evalap\'s paging and filters on GET /v1/experiment_sets', () => {
  it('lists sets newest first once skip or backward is given, and by id with a cursor otherwise', async () => {
    expect(ids((await api.call('GET', '/v1/experiment_sets?skip=0&limit=1')).body)).toEqual([setRegulated.id]);
    expect(ids((await api.call('GET', `/v1/experiment_sets?${py({ skip: 1, limit: 1, backward: true })}`)).body)).toEqual([setPlain.id]);
    expect(ids((await api.call('GET', `/v1/experiment_sets?${py({ backward: false })}`)).body)).toEqual([setPlain.id, setRegulated.id]);
    const byCursor = await api.call('GET', '/v1/experiment_sets?limit=1');
    expect(ids(byCursor.body)).toEqual([setPlain.id]);
    expect(byCursor.headers.get('x-next-cursor')).toBeTruthy();
  });

  it('keeps the sets with an experiment on a dataset of the given compliance', async () => {
    expect(ids((await api.call('GET', `/v1/experiment_sets?${py({ compliance: true })}`)).body)).toEqual([setRegulated.id]);
    expect(ids((await api.call('GET', `/v1/experiment_sets?${py({ compliance: false, backward: true })}`)).body)).toEqual([setPlain.id]);
  });
});

describe('the dataset of each listed experiment', () => {
  const expectDatasets = (experiments: { dataset_id: number; dataset: unknown }[]) => {
    expect(experiments.length).toBeGreaterThan(0);
    for (const e of experiments) {
      const d = e.dataset_id === plain.id ? plain : regulated;
      expect(e.dataset).toMatchObject({ id: d.id, name: d.name, size: d.size, columns: d.columns });
    }
  };

  it('is in GET /v1/experiments, GET /v1/experiment_sets and GET /v1/experiment_set/{id}, with id, name, size and columns', async () => {
    const listed = (await api.call('GET', '/v1/experiments')).body;
    expect(listed).toHaveLength(5);
    expectDatasets(listed);
    const sets = (await api.call('GET', '/v1/experiment_sets')).body;
    expectDatasets(sets.flatMap((s: { experiments: never[] }) => s.experiments));
    // What Evalap's UI computes from it.
    const set = (await api.call('GET', `/v1/experiment_set/${setRegulated.id}`)).body;
    expectDatasets(set.experiments);
    expect(set.experiments.reduce((n: number, e: { dataset: { size: number } }) => n + e.dataset.size, 0)).toBe(2);
  });

  it('is declared in the OpenAPI schemas of those responses', async () => {
    const doc = (await api.call('GET', '/v1/openapi.json')).body;
    const item = doc.components.schemas.ExperimentListItem;
    expect(item.required).toEqual(expect.arrayContaining(['dataset', 'dataset_id']));
    expect(item.properties.dataset).toEqual({ $ref: '#/components/schemas/Dataset' });
    expect(doc.paths['/v1/experiments'].get.responses['200'].content['application/json'].schema.items).toEqual({ $ref: '#/components/schemas/ExperimentWithResults' });
    expect(doc.components.schemas.ExperimentWithResults.required).toEqual(expect.arrayContaining(['dataset', 'results']));
    expect(doc.components.schemas.ExperimentSet.properties.experiments.items).toEqual({ $ref: '#/components/schemas/ExperimentListItem' });
    const params = doc.paths['/v1/experiments'].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(expect.arrayContaining(['skip', 'limit', 'cursor', 'backward', 'orphan', 'set_id', 'compliance']));
    expect(doc.paths['/v1/retry/experiment_set/{id}'].post.parameters.map((p: { name: string }) => p.name)).toContain('force');
  });
});

describe('force on retry', () => {
  let pending: number;
  let failed: number;
  let set: number;

  beforeAll(async () => {
    const res = await api.call('POST', '/v1/experiment_set', {
      body: { name: 'retry-force', readme: '', experiments: ['waiting', 'failed'].map((name) => ({ name, dataset: 'plain', model, metrics: ['exact_match'] })) },
    });
    set = res.body.id;
    [pending, failed] = ids(res.body.experiments);
    // One experiment finished with a failed answer; the other has not started.
    await api.pool.query(`UPDATE experiment SET experiment_status = 'finished', num_try = num_total, num_success = num_total - 1 WHERE id = $1`, [failed]);
    await api.pool.query(`UPDATE result SET metric_status = 'finished', num_try = 2, num_success = 2 WHERE experiment_id = $1`, [failed]);
  });

  const statusOf = async (id: number) => (await api.pool.query('SELECT experiment_status FROM experiment WHERE id = $1', [id])).rows[0].experiment_status as string;

  it('retries only the finished experiments of a set by default, leaving one still to run alone', async () => {
    const res = await api.call('POST', `/v1/retry/experiment_set/${set}?${py({ force: false })}`);
    expect(res.status).toBe(200);
    expect(await api.messages()).toEqual([{ type: 'retry', experiment_id: failed }]);
    expect(await statusOf(pending)).toBe('pending');
  });

  it('also retries the experiments still running with force=True', async () => {
    await api.pool.query(`UPDATE experiment SET experiment_status = 'running_answers' WHERE id = $1`, [pending]);
    const res = await api.call('POST', `/v1/retry/experiment_set/${set}?${py({ force: true })}`);
    expect(res.status).toBe(200);
    expect((await api.messages()).map((m) => m.experiment_id)).toContain(pending);
    expect(await statusOf(pending)).toBe('pending');
  });

  it('leaves a running experiment alone on POST /v1/retry/experiment/{id}, and retries it with force', async () => {
    await api.pool.query(`UPDATE experiment SET experiment_status = 'running_metrics' WHERE id = $1`, [pending]);
    const plainRetry = await api.call('POST', `/v1/retry/experiment/${pending}`);
    expect(plainRetry.status).toBe(200);
    expect(plainRetry.body.experiment_status).toBe('running_metrics');
    expect(await api.messages()).toEqual([]);
    const forced = await api.call('POST', `/v1/retry/experiment/${pending}?force=TRUE`);
    expect(forced.body.experiment_status).toBe('pending');
    expect(await api.messages()).toEqual([{ type: 'retry', experiment_id: pending }]);
  });

  it('refuses a force that is not a boolean', async () => {
    expect((await api.call('POST', `/v1/retry/experiment/${pending}?force=please`)).status).toBe(400);
  });
});
