/**
 * Budget caps end to end: the API, the built runner (its own process) and
 * the stub model. An experiment, or a set, launched with a cap stops at it:
 * status `stopped` with the reason recorded, queued tasks dropped, the calls
 * in flight recorded (each row answered at most once), and the running
 * totals equal to what the stored rows give. A retry at the cap is refused
 * until the cap is removed; then the rest is answered, once.
 */
import { jest } from '@jest/globals';
import { makeDf } from '../support/api.js';
import { runnerFixtures, terminal, waitUntil } from '../support/runner.js';

jest.setTimeout(180_000);

const fx = runnerFixtures();
/** Tasks in flight in the runner: the most a cap can be overshot by in answers. */
const SLOTS = 4;

async function dataset(name: string, rows: number) {
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
}

async function launch(body: Record<string, unknown>): Promise<number> {
  const res = await fx.api.call('POST', '/v1/experiment', { body });
  expect(res.status).toBe(200);
  return res.body.id;
}

/** Once the queue is empty, nothing more will be committed: the rows are final. */
const drained = () => waitUntil(async () => (await fx.api.footprint()).queued === 0, 60_000, 'the queue to drain');

/** The stored answers' count and tokens. */
async function stored(ids: number[]) {
  const { rows } = await fx.api.pool.query(
    `SELECT count(*)::int AS n, count(DISTINCT (experiment_id, num_line))::int AS distinct_rows,
            coalesce(sum(nb_tokens_prompt + nb_tokens_completion), 0)::int AS tokens
     FROM answer WHERE experiment_id = ANY($1::int[])`,
    [ids],
  );
  return rows[0] as { n: number; distinct_rows: number; tokens: number };
}

/** The rows the stub model was asked to answer (the answer calls' last message is the row's query). */
const askedLines = (model = 'stub') =>
  fx.model.requests.filter((q) => q.body.model === model).map((q) => String(q.body.messages.at(-1).content));

describe('an experiment with max_tokens_total', () => {
  it('stops at its cap, the rest of its rows never asked for, and resumes once the cap is removed', async () => {
    // Each answer: 2 prompt tokens ("question N") and 4 completion tokens ("answer to: question N"): 50 answers are 300 tokens.
    await dataset('tokens-200', 200);
    fx.model.setBehaviour({ latencyMs: 30 });
    const id = await launch({ name: 'capped', dataset: 'tokens-200', model: { name: 'stub', base_url: fx.model.url }, metrics: ['exact_match'], max_tokens_total: 300 });
    fx.runner({ MAX_CONCURRENT_TASKS: String(SLOTS) });

    const stopped = await terminal(fx.api, id, 90_000);
    expect(stopped.experiment_status).toBe('stopped');
    const reason = /^max_tokens_total of 300 reached: (\d+) tokens used \(answers (\d+), judge 0\)$/.exec(stopped.stop_reason);
    expect(reason).not.toBeNull();
    expect(Number(reason![1])).toBeGreaterThanOrEqual(300);
    await drained();

    const rows = await stored([id]);
    // Stopped at the cap: at least 50 answers, at most those in flight beyond them, never the whole dataset.
    expect(rows.n).toBeGreaterThanOrEqual(50);
    expect(rows.n).toBeLessThanOrEqual(50 + 4 * SLOTS);
    // Every call made was recorded (those in flight at the stop too), each row answered once.
    const asked = askedLines();
    expect(asked).toHaveLength(rows.n);
    expect(new Set(asked).size).toBe(asked.length);
    expect(rows.distinct_rows).toBe(rows.n);
    // The running totals are what the rows give.
    const e = (await fx.api.call('GET', `/v1/experiment/${id}?with_results=true`)).body;
    expect(e.spent.tokens).toBe(rows.tokens);
    expect(rows.tokens).toBe(6 * rows.n);
    expect([e.cost.answers.prompt_tokens + e.cost.answers.completion_tokens, e.num_try, e.num_observation_try]).toEqual([rows.tokens, rows.n, rows.n]);

    // At its cap, a retry would only spend past it.
    const refused = await fx.api.call('POST', `/v1/retry/experiment/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain(`is at its max_tokens_total of 300 (${rows.tokens} tokens used)`);
    expect((await fx.api.call('PATCH', `/v1/experiment/${id}`, { body: { max_tokens_total: null } })).status).toBe(200);
    expect((await fx.api.call('POST', `/v1/retry/experiment/${id}`)).status).toBe(200);
    const done = await terminal(fx.api, id, 90_000);
    expect(done).toMatchObject({ experiment_status: 'finished', num_try: 200, num_success: 200, stop_reason: null, spent: { tokens: 1200 } });
    // The retry asked only for the rows never answered: every row once in all.
    const all = askedLines();
    expect(all).toHaveLength(200);
    expect(new Set(all).size).toBe(200);
  });
});

describe('an experiment with max_cost and a judged metric', () => {
  it('counts the judge calls at the judge\'s price: they, not the answers, reach the cap', async () => {
    await dataset('cost-60', 60);
    fx.model.setBehaviour({ latencyMs: 20, reply: (body) => (body.model === 'priced-judge' ? '7' : 'Paris is the capital') });
    // Answers: (2 × $1 + 4 × $2) / 1M each, $0.0006 for all 60 rows: alone, they never reach $0.003. Judge calls are at $10 / $20.
    const id = await launch({
      name: 'judged',
      dataset: 'cost-60',
      model: { name: 'stub', base_url: fx.model.url, prices: { input: 1, output: 2 } },
      judge_model: { name: 'priced-judge', base_url: fx.model.url, prices: { input: 10, output: 20 } },
      metrics: ['judge_notator'],
      max_cost: 0.003,
    });
    fx.runner({ MAX_CONCURRENT_TASKS: String(SLOTS) });
    const stopped = await terminal(fx.api, id, 90_000);
    expect(stopped.experiment_status).toBe('stopped');
    expect(stopped.stop_reason).toMatch(/^max_cost of 0\.003 USD reached: [\d.]+ USD spent \(answers [\d.]+, judge [\d.]+\)$/);
    await drained();

    const e = (await fx.api.call('GET', `/v1/experiment/${id}?with_results=true`)).body;
    expect(e.spent.cost).toBeGreaterThanOrEqual(0.003);
    expect(e.spent.answers.cost).toBeLessThan(0.003);
    expect(e.spent.judge.cost).toBeGreaterThan(0);
    // Fewer rows judged than the dataset has: the cap stopped it.
    expect(e.num_observation_try).toBeLessThan(60);
    // The running totals price what the stored rows give, answers and judge calls apart.
    expect([e.spent.answers.prompt_tokens, e.spent.answers.completion_tokens]).toEqual([e.cost.answers.prompt_tokens, e.cost.answers.completion_tokens]);
    expect([e.spent.judge.prompt_tokens, e.spent.judge.completion_tokens]).toEqual([e.cost.judge.prompt_tokens, e.cost.judge.completion_tokens]);
    expect(Math.abs(e.spent.cost - e.cost.total)).toBeLessThanOrEqual(1e-12);
    // Every judge call made was recorded.
    expect(fx.model.requests.filter((q) => q.body.model === 'priced-judge')).toHaveLength(e.cost.judge.calls);
  });
});

describe('an experiment set with max_tokens_total', () => {
  it('stops every experiment of the set once their sum reaches the set\'s cap', async () => {
    await dataset('set-50', 50);
    fx.model.setBehaviour({ latencyMs: 30 });
    const experiment = (name: string) => ({ name, dataset: 'set-50', model: { name: 'stub', base_url: fx.model.url }, metrics: ['exact_match'] });
    // 40 answers of the two experiments together: 240 tokens.
    const res = await fx.api.call('POST', '/v1/experiment_set', { body: { name: 'capped-set', max_tokens_total: 240, experiments: [experiment('a'), experiment('b')] } });
    expect(res.status).toBe(200);
    const ids: number[] = res.body.experiments.map((e: { id: number }) => e.id);
    fx.runner({ MAX_CONCURRENT_TASKS: String(SLOTS) });
    for (const id of ids) expect((await terminal(fx.api, id, 90_000)).experiment_status).toBe('stopped');
    await drained();

    const set = (await fx.api.call('GET', `/v1/experiment_set/${res.body.id}`)).body;
    expect(set).toMatchObject({ status: 'stopped', max_tokens_total: 240 });
    const reasons = new Set(set.experiments.map((e: any) => e.stop_reason));
    expect(reasons.size).toBe(1);
    expect([...reasons][0]).toMatch(/^the experiment set's max_tokens_total of 240 reached: \d+ tokens used by its 2 experiments \(answers \d+, judge 0\)$/);
    const rows = await stored(ids);
    expect(rows.n).toBeGreaterThanOrEqual(40);
    expect(rows.n).toBeLessThanOrEqual(40 + 4 * SLOTS);
    expect(rows.distinct_rows).toBe(rows.n);
    expect(set.spent.tokens).toBe(rows.tokens);
    expect(set.experiments.reduce((s: number, e: any) => s + e.spent.tokens, 0)).toBe(rows.tokens);
    expect(askedLines()).toHaveLength(rows.n);
  });
});
