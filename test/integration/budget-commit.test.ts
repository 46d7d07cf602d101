/**
 * Budget caps at the store (migration 016) against the real PostgreSQL, with
 * outcomes committed as the runner commits them: running totals kept by the
 * group commit (each recorded call once), the stop at a cap with its reason
 * (an experiment's, a set's over all its experiments), calls in flight still
 * recorded, and the API around it: caps at launch (refused when they cannot
 * be weighed), shown in GET, a retry at the cap refused until it is raised.
 */
import { commitOutcomes, type AnswerOutcome } from '../../core/store/outcomes.js';
import { makeDf, startApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
  expect((await api.call('POST', '/v1/dataset', { body: { name: 'rows', readme: '', df: makeDf(10) } })).status).toBe(200);
});
afterAll(async () => {
  await api.close();
});

// Nothing drains the queue here: outcomes are committed by the test, as the runner would.
const MODEL = { name: 'priced', base_url: 'http://127.0.0.1:9', prices: { input: 1, output: 2 } };
const JUDGE = { name: 'priced-judge', base_url: 'http://127.0.0.1:9', prices: { input: 10, output: 20 } };

let n = 0;
async function launch(over: Record<string, unknown> = {}): Promise<{ id: number; results: number[]; body: any }> {
  const res = await api.call('POST', '/v1/experiment', { body: { name: `e${++n}`, dataset: 'rows', model: MODEL, metrics: ['exact_match'], ...over } });
  expect(res.status).toBe(200);
  const { rows } = await api.pool.query<{ id: number }>('SELECT id FROM result WHERE experiment_id = $1 ORDER BY id', [res.body.id]);
  return { id: res.body.id, results: rows.map((r) => r.id), body: res.body };
}

/** An answer of 3 prompt and 4 completion tokens (7 in all; $11 per million at MODEL's prices). */
const answer = (experiment_id: number, num_line: number, over: Partial<AnswerOutcome> = {}): AnswerOutcome => ({
  experiment_id, num_line, answer: `answer ${num_line}`, nb_tokens_prompt: 3, nb_tokens_completion: 4, execution_time: 5, error_msg: null, num_try: 1, ...over,
});
const observation = (experiment_id: number, result_id: number, num_line: number, usage?: { prompt_tokens: number | null; completion_tokens: number | null; cached_tokens?: number }) => ({
  experiment_id, result_id, num_line, score: 1, observation: usage ? { judge_usage: usage } : null, error_msg: null, execution_time: 1, num_try: 1,
});
const commit = (answers: AnswerOutcome[], observations: ReturnType<typeof observation>[] = []) => commitOutcomes(api.pool, answers, observations);
const get = async (id: number, query = '') => (await api.call('GET', `/v1/experiment/${id}${query}`)).body;
const near = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-12);

describe('running totals', () => {
  it('add the tokens of each call recorded, once, however often it is committed, and match what the rows give', async () => {
    const { id } = await launch({ metrics: ['judge_notator'], judge_model: JUDGE });
    const [judged] = (await api.pool.query<{ id: number }>('SELECT id FROM result WHERE experiment_id = $1', [id])).rows;
    // A failure (no tokens) first, then its success; every commit delivered three times.
    for (let i = 0; i < 3; i++) await commit([answer(id, 0, { answer: null, nb_tokens_prompt: undefined, nb_tokens_completion: undefined, error_msg: 'HTTP 500' })]);
    for (let i = 0; i < 3; i++) await commit([answer(id, 0), answer(id, 1)], [observation(id, judged.id, 0, { prompt_tokens: 100, completion_tokens: 1 })]);
    const e = await get(id, '?with_results=true');
    expect(e.spent).toEqual({
      tokens: 14 + 101,
      cost: expect.any(Number),
      answers: { prompt_tokens: 6, cached_prompt_tokens: 0, completion_tokens: 8, cost: expect.any(Number) },
      judge: { prompt_tokens: 100, cached_prompt_tokens: 0, completion_tokens: 1, cost: expect.any(Number) },
    });
    near(e.spent.answers.cost, 22 / 1e6);
    near(e.spent.judge.cost, 1020 / 1e6);
    // The cost read from the rows (core/cost/cost.ts) is the same: nothing was replaced but a failure without tokens.
    expect([e.cost.answers.prompt_tokens, e.cost.answers.completion_tokens, e.cost.judge.prompt_tokens, e.cost.judge.completion_tokens]).toEqual([6, 8, 100, 1]);
    near(e.cost.total, e.spent.cost);
    expect(e).toMatchObject({ max_cost: null, max_tokens_total: null, stop_reason: null });
  });

  it('count nothing for outputs brought with the experiment, which were paid for elsewhere', async () => {
    const byo = await launch({ model: { aliased_name: 'byo', output: Array(10).fill('x'), nb_tokens_prompt: Array(10).fill(50), nb_tokens_completion: Array(10).fill(50) } });
    await commit([], [observation(byo.id, byo.results[0], 0)]);
    expect((await get(byo.id)).spent).toMatchObject({ tokens: 0, cost: 0 });
  });
});

describe('cached prompt tokens (migration 018)', () => {
  const CACHED_MODEL = { ...MODEL, name: 'priced-cached', prices: { input: 1000, output: 2000, cached_input: 100 } };
  const CACHED_JUDGE = { ...JUDGE, prices: { input: 10, output: 20, cached_input: 1 } };

  it('are added to the totals once and priced at the pinned cached-input price, as a max_cost weighs them', async () => {
    const { id } = await launch({ model: CACHED_MODEL, judge_model: CACHED_JUDGE, metrics: ['judge_notator'], max_cost: 0.02 });
    const [judged] = (await api.pool.query<{ id: number }>('SELECT id FROM result WHERE experiment_id = $1', [id])).rows;
    // Each answer, 2 of its 3 prompt tokens cached: (1 × $1000 + 2 × $100 + 4 × $2000) / 1M = $0.0092 ($0.011 uncached).
    // The judge call, 60 of its 100 cached: (40 × $10 + 60 × $1 + 1 × $20) / 1M = $0.00048 ($0.00102 uncached).
    // Two answers and the judge call: $0.01888, below the $0.02 cap; priced in full they would be $0.02302, above it.
    for (let i = 0; i < 3; i++) {
      await commit([answer(id, 0, { nb_tokens_cached: 2 }), answer(id, 1, { nb_tokens_cached: 2 })], [observation(id, judged.id, 0, { prompt_tokens: 100, completion_tokens: 1, cached_tokens: 60 })]);
    }
    const e = await get(id, '?with_results=true');
    expect(e.experiment_status).toBe('running_answers');
    expect(e.spent).toMatchObject({
      tokens: 14 + 101,
      answers: { prompt_tokens: 6, cached_prompt_tokens: 4, completion_tokens: 8 },
      judge: { prompt_tokens: 100, cached_prompt_tokens: 60, completion_tokens: 1 },
    });
    near(e.spent.answers.cost, 0.0184);
    near(e.spent.judge.cost, 0.00048);
    // The cost read from the rows prices the same tokens the same way.
    expect([e.cost.answers.cached_prompt_tokens, e.cost.judge.cached_prompt_tokens]).toEqual([4, 60]);
    near(e.cost.total, e.spent.cost);
    // A third answer: 3 × $0.0092 + $0.00048 = $0.02808, at the cap.
    expect(await commit([answer(id, 2, { nb_tokens_cached: 2 })])).toMatchObject({ budgetStopped: [id] });
    expect((await get(id)).stop_reason).toBe('max_cost of 0.02 USD reached: 0.02808 USD spent (answers 0.0276, judge 0.00048)');
  });
});

describe('an experiment at its cap', () => {
  it('stops once its tokens reach max_tokens_total, with why, its results too, and is reported to the committer', async () => {
    const { id } = await launch({ max_tokens_total: 20 });
    expect(await commit([answer(id, 0), answer(id, 1)])).toMatchObject({ budgetStopped: [] });
    expect((await get(id)).experiment_status).toBe('running_answers');
    expect(await commit([answer(id, 2)])).toEqual({ skippedExperiments: [], finished: [], budgetStopped: [id] });
    const e = await get(id, '?with_results=true');
    expect(e).toMatchObject({ experiment_status: 'stopped', max_tokens_total: 20, stop_reason: 'max_tokens_total of 20 reached: 21 tokens used (answers 21, judge 0)', spent: { tokens: 21 } });
    expect(e.results.map((r: any) => r.metric_status)).toEqual(['stopped']);
  });

  it('still records the calls that were in flight when it stopped, and counts them; a stop by request drops them, as before', async () => {
    const capped = await launch({ max_tokens_total: 7 });
    await commit([answer(capped.id, 0)]);
    const asked = await launch();
    expect((await api.call('POST', `/v1/stop/experiment/${asked.id}`)).body).toMatchObject({ experiment_status: 'stopped', stop_reason: 'stopped by request' });
    const out = await commit([answer(capped.id, 1), answer(asked.id, 0)], [observation(capped.id, capped.results[0], 1)]);
    expect(out).toEqual({ skippedExperiments: [asked.id], finished: [], budgetStopped: [capped.id] });
    const e = await get(capped.id, '?with_results=true');
    expect(e).toMatchObject({ experiment_status: 'stopped', num_try: 2, spent: { tokens: 14 }, stop_reason: 'max_tokens_total of 7 reached: 7 tokens used (answers 7, judge 0)' });
    expect(e.results[0]).toMatchObject({ metric_status: 'stopped', num_try: 1 });
    expect((await get(asked.id)).num_try).toBe(0);
  });

  it('counts the judge calls at the judge\'s price against max_cost', async () => {
    const { id } = await launch({ metrics: ['judge_notator'], judge_model: JUDGE, max_cost: 0.002 });
    const [judged] = (await api.pool.query<{ id: number }>('SELECT id FROM result WHERE experiment_id = $1', [id])).rows;
    // Row 0: $11 + $1000 per million; below the cap.
    await commit([answer(id, 0)], [observation(id, judged.id, 0, { prompt_tokens: 100, completion_tokens: 0 })]);
    expect((await get(id)).experiment_status).toBe('running_answers');
    // Row 1's judge call takes it to $2022 per million: the answers alone ($22) are far below it.
    expect((await commit([answer(id, 1)], [observation(id, judged.id, 1, { prompt_tokens: 100, completion_tokens: 0 })])).budgetStopped).toEqual([id]);
    const e = await get(id);
    expect(e.stop_reason).toBe('max_cost of 0.002 USD reached: 0.002022 USD spent (answers 0.000022, judge 0.002)');
    near(e.spent.cost, 0.002022);
  });

  it('stays finished when the commit that reaches its cap also finishes it', async () => {
    await api.call('POST', '/v1/dataset', { body: { name: 'one-row', readme: '', df: makeDf(1) } });
    const { id, results } = await launch({ dataset: 'one-row', max_tokens_total: 1 });
    expect(await commit([answer(id, 0)], [observation(id, results[0], 0)])).toEqual({ skippedExperiments: [], finished: [id], budgetStopped: [] });
    expect(await get(id)).toMatchObject({ experiment_status: 'finished', stop_reason: null, spent: { tokens: 7 } });
  });
});

describe('a set at its cap', () => {
  async function launchSet(body: Record<string, unknown>) {
    const res = await api.call('POST', '/v1/experiment_set', { body: { name: `set${++n}`, ...body } });
    expect(res.status).toBe(200);
    return res.body;
  }
  const member = (name: string) => ({ name, dataset: 'rows', model: MODEL, metrics: ['exact_match'] });

  it('stops every unfinished experiment of the set once their sum reaches its cap, those the commit did not touch too', async () => {
    const set = await launchSet({ max_tokens_total: 20, experiments: [member('a'), member('b'), member('c')] });
    const [a, b, c] = set.experiments.map((e: any) => e.id);
    expect(set).toMatchObject({ max_tokens_total: 20, max_cost: null, spent: { tokens: 0 } });
    await commit([answer(a, 0), answer(a, 1)]);
    expect((await commit([answer(b, 0)])).budgetStopped).toEqual([a, b, c]);
    const after = (await api.call('GET', `/v1/experiment_set/${set.id}`)).body;
    expect(after).toMatchObject({ status: 'stopped', spent: { tokens: 21 } });
    for (const e of after.experiments) {
      expect(e).toMatchObject({ experiment_status: 'stopped', stop_reason: "the experiment set's max_tokens_total of 20 reached: 21 tokens used by its 3 experiments (answers 21, judge 0)" });
    }
    expect(after.experiments.map((e: any) => e.spent.tokens)).toEqual([14, 7, 0]);
  });

  it('keeps exact totals under concurrent commits to its experiments, without deadlock', async () => {
    const set = await launchSet({ max_tokens_total: 1_000_000, experiments: [member('a'), member('b'), member('c')] });
    const ids: number[] = set.experiments.map((e: any) => e.id);
    // Twelve commits at once, each to two of the three experiments, in every order.
    const batches = Array.from({ length: 12 }, (_, i) => [answer(ids[i % 3], i % 10), answer(ids[(i + 1) % 3], (i + 5) % 10)]);
    await Promise.all(batches.map((b) => commit(b)));
    const rows = (await api.pool.query('SELECT count(*)::int AS n FROM answer WHERE experiment_id = ANY($1::int[])', [ids])).rows[0].n;
    expect((await api.call('GET', `/v1/experiment_set/${set.id}`)).body.spent.tokens).toBe(7 * rows);
  });

  it('gives each experiment of a grid the caps in its common_params, and the set none', async () => {
    const set = await launchSet({ cv: { common_params: { dataset: 'rows', model: MODEL, metrics: ['exact_match'], max_cost: 0.5 }, grid_params: { sample: [[0], [1]] } } });
    expect(set).toMatchObject({ max_cost: null });
    expect(set.experiments.map((e: any) => e.max_cost)).toEqual([0.5, 0.5]);
  });
});

describe('caps at launch', () => {
  const refused: [string, string, Record<string, unknown>, RegExp][] = [
    ['a negative max_cost', '/v1/experiment', { name: 'x', dataset: 'rows', model: MODEL, max_cost: -1 }, /max_cost: expected a number of USD above 0/],
    ['a max_tokens_total of 0', '/v1/experiment', { name: 'x', dataset: 'rows', model: MODEL, max_tokens_total: 0 }, /max_tokens_total: expected a whole number of tokens/],
    ['a max_cost on a model of unknown price', '/v1/experiment', { name: 'x', dataset: 'rows', model: { name: 'local', base_url: 'http://127.0.0.1:9' }, max_cost: 1 }, /model: max_cost needs the model's price: "local" is not in the shipped price table; give model\.prices/],
    ['a set\'s max_cost on a judge of unknown price', '/v1/experiment_set', { name: 'x', max_cost: 1, experiments: [{ name: 'x', dataset: 'rows', model: MODEL, metrics: ['judge_notator'], judge_model: { name: 'free-judge', base_url: 'http://127.0.0.1:9' } }] }, /experiments\.0\.judge_model: the set's max_cost needs the judge's price/],
    ['a negative cap in a grid', '/v1/experiment_set', { name: 'x', cv: { common_params: { dataset: 'rows', model: MODEL, max_cost: -2 }, grid_params: { sample: [[0]] } } }, /cv\.grid\.0\.max_cost: expected a number of USD above 0/],
    ['a negative set cap', '/v1/experiment_set', { name: 'x', max_tokens_total: -5 }, /max_tokens_total: expected a whole number/],
  ];
  it.each(refused)('refuses %s with a 400 saying so, and writes nothing', async (_what, path, body, detail) => {
    const before = await api.footprint();
    const res = await api.call('POST', path, { body });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(detail);
    expect(await api.footprint()).toEqual(before);
  });

  it('takes a token cap on a model of unknown price: tokens need no price', async () => {
    const { body } = await launch({ model: { name: 'local', base_url: 'http://127.0.0.1:9' }, max_tokens_total: 100 });
    expect(body).toMatchObject({ max_tokens_total: 100, max_cost: null, spent: { tokens: 0, cost: 0 } });
  });
});

describe('retrying what reached its cap', () => {
  it('is refused (409) until the cap is raised or removed, reopening nothing; then it resumes', async () => {
    const { id } = await launch({ max_tokens_total: 10 });
    await commit([answer(id, 0), answer(id, 1)]);
    const before = await get(id);
    const refusedRetry = await api.call('POST', `/v1/retry/experiment/${id}`);
    expect(refusedRetry.status).toBe(409);
    expect(refusedRetry.body.detail).toBe(`budget reached, nothing was started again: experiment ${id} is at its max_tokens_total of 10 (14 tokens used): raise or remove it (null) with PATCH /v1/experiment/${id}`);
    expect(await get(id)).toEqual(before);
    // A rerun would spend past it too.
    expect((await api.call('PATCH', `/v1/experiment/${id}`, { body: { rerun_answers: true } })).status).toBe(409);
    // Raised, but not above what was spent: still refused.
    expect((await api.call('PATCH', `/v1/experiment/${id}`, { body: { max_tokens_total: 14 } })).body.max_tokens_total).toBe(14);
    expect((await api.call('POST', `/v1/retry/experiment/${id}`)).status).toBe(409);
    expect((await api.call('PATCH', `/v1/experiment/${id}`, { body: { max_tokens_total: null } })).body.max_tokens_total).toBeNull();
    const retried = await api.call('POST', `/v1/retry/experiment/${id}`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ experiment_status: 'pending', stop_reason: null, spent: { tokens: 14 } });
  });

  it('refuses a set\'s retry at the set\'s cap, naming the set, until PATCH raises it', async () => {
    const set = (await api.call('POST', '/v1/experiment_set', { body: { name: `retry-set${++n}`, max_cost: 0.00001, experiments: [{ name: 'a', dataset: 'rows', model: MODEL, metrics: ['exact_match'] }] } })).body;
    const [id] = set.experiments.map((e: any) => e.id);
    await commit([answer(id, 0)]);
    expect((await get(id)).stop_reason).toBe("the experiment set's max_cost of 0.00001 USD reached: 0.000011 USD spent by its 1 experiments (answers 0.000011, judge 0)");
    const refusedRetry = await api.call('POST', `/v1/retry/experiment_set/${set.id}`);
    expect(refusedRetry.status).toBe(409);
    expect(refusedRetry.body.detail).toContain(`experiment set ${set.id} is at its max_cost of 0.00001 USD (0.000011 USD spent): raise or remove it (null) with PATCH /v1/experiment_set/${set.id}`);
    expect((await api.call('PATCH', `/v1/experiment_set/${set.id}`, { body: { max_cost: 1 } })).body).toMatchObject({ max_cost: 1 });
    expect((await api.call('POST', `/v1/retry/experiment_set/${set.id}`)).body.reopened_experiment_ids).toEqual([id]);
  });

  it('refuses a USD cap by PATCH on an experiment whose model has no pinned price, and takes a token cap', async () => {
    const { id } = await launch({ model: { name: 'local', base_url: 'http://127.0.0.1:9' } });
    const res = await api.call('PATCH', `/v1/experiment/${id}`, { body: { max_cost: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(new RegExp(`max_cost: experiment ${id}: max_cost needs the model's price: "local" is not in the shipped price table; prices are pinned at launch, so cap it with max_tokens_total instead`));
    expect((await get(id)).max_cost).toBeNull();
    expect((await api.call('PATCH', `/v1/experiment/${id}`, { body: { max_tokens_total: 50 } })).body.max_tokens_total).toBe(50);
  });
});
