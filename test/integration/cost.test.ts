/**
 * Cost end to end: the runner (its own process) answers through the stub
 * model and scores with a stub judge; GET /v1/experiment/{id} prices the
 * stored token counts at the prices pinned at launch (the shipped table's,
 * or the model definition's own), the answers' and the judge calls' apart,
 * and the leaderboard and the CLI's reports show the same figures.
 */
import { jest } from '@jest/globals';
import { ApiClient } from '../../cli/client.js';
import { impactRows, impactTable } from '../../cli/impacts.js';
import { fetchRowRecords } from '../../cli/row-results.js';
import { runnerFixtures, terminal } from '../support/runner.js';

jest.setTimeout(120_000);

const fx = runnerFixtures();
const ROWS = 3;
const JUDGES = new Set(['gpt-4o', 'stub-judge']);

const near = (actual: number | null, expected: number) => {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-9);
};

type Usage = { prompt_tokens: number; completion_tokens: number };
const judgeUsages = (exp: any, metric: string): Usage[] => exp.results.find((r: any) => r.metric_name === metric).observation_table.map((o: any) => o.observation.judge_usage);

beforeAll(async () => {
  const df = JSON.stringify(Array.from({ length: ROWS }, (_, i) => ({ query: `question ${i}`, output_true: 'Paris is the capital' })));
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name: 'costs', readme: '', df } })).status).toBe(200);
});

async function run(body: Record<string, unknown>) {
  const created = await fx.api.call('POST', '/v1/experiment', { body: { dataset: 'costs', ...body } });
  expect(created.status).toBe(200);
  await terminal(fx.api, created.body.id, 60_000);
  const exp = (await fx.api.call('GET', `/v1/experiment/${created.body.id}?with_results=true&with_answers=true`)).body;
  expect(exp.experiment_status).toBe('finished');
  return exp;
}

let table: any;
let own: any;
let unknown: any;

beforeAll(async () => {
  // Answers have 2 prompt tokens ("question N") and 4 completion tokens; the judge replies "7", one token.
  fx.model.setBehaviour({ reply: (body) => (JUDGES.has(body.model) ? '7' : 'Paris is the capital') });
  fx.runner();
  // From the shipped table: gpt-4o-mini ($0.15 in, $0.60 out per million) answers, gpt-4o ($2.50, $10) judges, named as a judge is.
  table = await run({ name: 'table-prices', model: { name: 'gpt-4o-mini', base_url: fx.model.url }, judge_model: 'gpt-4o', metrics: ['judge_notator', 'exact_match'] });
  // The definition's own prices: $1 and $2 for the model, $10 and $20 for the judge.
  own = await run({
    name: 'own-prices',
    model: { name: 'gpt-4o-mini', base_url: fx.model.url, prices: { input: 1, output: 2 } },
    judge_model: { name: 'stub-judge', base_url: fx.model.url, prices: { input: 10, output: 20 } },
    metrics: ['judge_notator', 'exact_match'],
  });
  // Neither the table nor the definition prices it.
  unknown = await run({ name: 'no-price', model: { name: 'local-model', base_url: fx.model.url }, metrics: ['exact_match'] });
  for (const exp of [table, own, unknown]) {
    for (const a of exp.answers) expect([a.nb_tokens_prompt, a.nb_tokens_completion]).toEqual([2, 4]);
  }
});

/** The judge calls' cost at `input` and `output` USD per million, from their stored token counts. */
const judgeCost = (exp: any, input: number, output: number) => judgeUsages(exp, 'judge_notator').reduce((s, u) => s + (u.prompt_tokens * input + u.completion_tokens * output) / 1e6, 0);

it('prices the answers at the shipped table\'s price of the model and the judge calls at the judge\'s, apart, from their stored tokens', () => {
  // Answers: 3 × (2 × $0.15 + 4 × $0.60) / 1M = 3 × $2.7 / 1M = $0.0000081.
  expect(table.cost.answers).toMatchObject({ model: 'gpt-4o-mini', calls: ROWS, prompt_tokens: 6, completion_tokens: 12, calls_without_tokens: 0, price: { input: 0.15, output: 0.6, cached_input: 0.075, source: 'table', entry: 'gpt-4o-mini', url: 'https://openai.com/api/pricing/', as_of: expect.any(String) } });
  near(table.cost.answers.cost, 0.0000081);
  near(table.cost.answers.per_call, 0.0000027);
  // Judge calls: each call's stored prompt tokens × $2.50 + 1 × $10, per million.
  const usages = judgeUsages(table, 'judge_notator');
  expect(usages).toHaveLength(ROWS);
  for (const u of usages) expect(u.completion_tokens).toBe(1);
  expect(table.cost.judge).toMatchObject({ model: 'gpt-4o', calls: ROWS, price: { input: 2.5, output: 10, source: 'table', entry: 'gpt-4o' } });
  near(table.cost.judge.cost, judgeCost(table, 2.5, 10));
  near(table.cost.total, 0.0000081 + judgeCost(table, 2.5, 10));
  expect(table.cost).toMatchObject({ currency: 'USD' });
  expect(table.cost).not.toHaveProperty('reason');
});

it('prices with the model definition\'s own prices when it gives them, the model\'s and the judge\'s', () => {
  // Answers: 3 × (2 × $1 + 4 × $2) / 1M = $0.00003; judge calls: prompt × $10 + 1 × $20, per million.
  near(own.cost.answers.cost, 0.00003);
  expect(own.cost.answers.price).toEqual({ input: 1, output: 2, source: 'model' });
  near(own.cost.judge.cost, judgeCost(own, 10, 20));
  near(own.cost.total, 0.00003 + judgeCost(own, 10, 20));
});

it('gives a model of unknown price a null cost with the reason, never 0, and no total; a judge never called costs exactly 0', () => {
  expect(unknown.cost.answers).toMatchObject({ cost: null, price: null, calls: ROWS, reason: expect.stringContaining('no price for "local-model"') });
  expect(unknown.cost.judge).toMatchObject({ cost: 0, calls: 0 });
  expect(unknown.cost.total).toBeNull();
});

it('pins the price in force into the stored model and judge definitions at launch, with where it came from', async () => {
  const { rows: stored } = await fx.api.pool.query(`SELECT name, model->'prices' AS model, judge_model->'prices' AS judge FROM experiment WHERE id = ANY($1::int[]) ORDER BY id`, [[table.id, own.id, unknown.id]]);
  expect(stored).toEqual([
    { name: 'table-prices', model: expect.objectContaining({ input: 0.15, source: 'table', entry: 'gpt-4o-mini' }), judge: expect.objectContaining({ input: 2.5, source: 'table', entry: 'gpt-4o' }) },
    { name: 'own-prices', model: { input: 1, output: 2, source: 'model' }, judge: { input: 10, output: 20, source: 'model' } },
    { name: 'no-price', model: null, judge: null },
  ]);
});

it('gives with_results the same energy, carbon and cost totals as with_eco, and the plain view neither', async () => {
  const withEco = (await fx.api.call('GET', `/v1/experiment/${table.id}?with_eco=true`)).body;
  expect(table.eco).toEqual(withEco.eco);
  expect(withEco.cost).toEqual(table.cost);
  expect(table.eco.answers.total_entries_with_emissions).toBe(ROWS);
  expect(table.eco.observation_table.total_entries_with_emissions).toBe(ROWS);
  const plain = (await fx.api.call('GET', `/v1/experiment/${table.id}`)).body;
  expect(plain).not.toHaveProperty('cost');
  expect(plain).not.toHaveProperty('eco');
});

it('shows each experiment\'s cost on the leaderboard, unknown with its reason', async () => {
  const board = (await fx.api.call('GET', '/v1/leaderboard?metric_name=exact_match&dataset_name=costs')).body.entries;
  const entry = (id: number) => board.find((e: any) => e.experiment_id === id).cost;
  near(entry(table.id).total, table.cost.total);
  near(entry(table.id).judge, judgeCost(table, 2.5, 10));
  near(entry(table.id).per_answer, 0.0000027);
  near(entry(own.id).total, own.cost.total);
  expect(entry(unknown.id)).toMatchObject({ total: null, answers: null, judge: 0, reason: expect.stringContaining('local-model') });
});

it('prints the API\'s figures in the CLI\'s table, and prices each answer and judge call in its row exports, adding up to the totals', async () => {
  const text = impactTable(impactRows([table, own, unknown]));
  expect(text).toMatch(/^table-prices +gpt-4o-mini +\S+ m?Wh/m);
  expect(text).toContain('$0.0000081');
  expect(text).toContain('no-price: answers: no price for "local-model"');
  const records = await fetchRowRecords(new ApiClient(fx.api.url), [table], ['table-prices']);
  const answerCosts = new Map(records.map((r) => [r.num_line, r.answer_cost_usd!]));
  expect(answerCosts.size).toBe(ROWS);
  near([...answerCosts.values()].reduce((s, c) => s + c, 0), table.cost.answers.cost);
  near(records.filter((r) => r.metric === 'judge_notator').reduce((s, r) => s + r.judge_cost_usd!, 0), table.cost.judge.cost);
  expect(records.filter((r) => r.metric === 'exact_match').every((r) => r.judge_cost_usd === null)).toBe(true);
});

it("sums a set's energy, carbon and cost over its experiments in its with_eco view, and leaves them out of the plain view", async () => {
  fx.model.setBehaviour({ reply: (body) => (JUDGES.has(body.model) ? '7' : 'Paris is the capital') });
  fx.runner();
  const created = await fx.api.call('POST', '/v1/experiment_set', {
    body: {
      name: 'priced-set',
      experiments: [
        { name: 'set-table', dataset: 'costs', model: { name: 'gpt-4o-mini', base_url: fx.model.url }, judge_model: 'gpt-4o', metrics: ['judge_notator'] },
        { name: 'set-own', dataset: 'costs', model: { name: 'gpt-4o-mini', base_url: fx.model.url, prices: { input: 1, output: 2 } }, metrics: ['exact_match'] },
      ],
    },
  });
  expect(created.status).toBe(200);
  const ids: number[] = created.body.experiments.map((e: { id: number }) => e.id);
  for (const id of ids) expect((await terminal(fx.api, id, 60_000)).experiment_status).toBe('finished');
  const each = await Promise.all(ids.map(async (id) => (await fx.api.call('GET', `/v1/experiment/${id}?with_eco=true`)).body));

  const set = (await fx.api.call('GET', `/v1/experiment_set/${created.body.id}?with_eco=true`)).body;
  const sum = (pick: (e: any) => number) => each.reduce((s, e) => s + pick(e), 0);
  expect(set.cost).toMatchObject({ currency: 'USD', unknown: 0 });
  near(set.cost.total, sum((e) => e.cost.total));
  near(set.cost.answers, sum((e) => e.cost.answers.cost));
  near(set.cost.judge, sum((e) => e.cost.judge.cost));
  // Energy and carbon: the answers of both experiments, the judge observations of the first.
  expect(set.eco.answers.total_entries_with_emissions).toBe(2 * ROWS);
  near(set.eco.answers.total_emissions.energy, sum((e) => e.eco.answers.total_emissions.energy));
  near(set.eco.observation_table.total_emissions.gwp, sum((e) => e.eco.observation_table.total_emissions.gwp ?? 0));
  expect(set.eco.answers.equivalents.lightbulb_5w_hours).toBeGreaterThan(0);

  const plain = (await fx.api.call('GET', `/v1/experiment_set/${created.body.id}`)).body;
  expect(plain).not.toHaveProperty('eco');
  expect(plain).not.toHaveProperty('cost');
  expect((await fx.api.call('GET', `/v1/experiment_set/${created.body.id}?with_eco=maybe`)).status).toBe(400);
});

it("gives a set with an experiment of unknown price no total, counting it as unknown", async () => {
  fx.runner();
  const created = await fx.api.call('POST', '/v1/experiment_set', {
    body: { name: 'unpriced-set', experiments: [{ name: 'set-unknown', dataset: 'costs', model: { name: 'local-model', base_url: fx.model.url }, metrics: ['exact_match'] }] },
  });
  expect(created.status).toBe(200);
  await terminal(fx.api, created.body.experiments[0].id, 60_000);
  const set = (await fx.api.call('GET', `/v1/experiment_set/${created.body.id}?with_eco=true`)).body;
  expect(set.cost).toEqual({ currency: 'USD', total: null, answers: null, judge: 0, unknown: 1 });
});
