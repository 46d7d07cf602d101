/**
 * Cached prompt tokens end to end: the built runner (its own process) answers
 * through the stub model and scores with a stub judge, both reporting part of
 * their prompt tokens as served from a cache, in OpenAI's shape. Each answer
 * stores its count, each observation's judge_usage its judge's, and the
 * experiment's `cost` and `spent` (what a budget cap weighs, in SQL too)
 * price those tokens at the cached-input price.
 */
import { jest } from '@jest/globals';
import { ApiClient } from '../../cli/client.js';
import { fetchRowRecords } from '../../cli/row-results.js';
import { runnerFixtures, terminal } from '../support/runner.js';

jest.setTimeout(120_000);

const fx = runnerFixtures();
const ROWS = 3;
/** The judge's prompt tokens the stub reports as not cached; the rest of its prompt is. */
const JUDGE_UNCACHED = 8;

const near = (actual: number | null, expected: number) => {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-9);
};

let exp: any;

beforeAll(async () => {
  const df = JSON.stringify(Array.from({ length: ROWS }, (_, i) => ({ query: `question ${i}`, output_true: 'Paris is the capital' })));
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name: 'cached', readme: '', df } })).status).toBe(200);
  // Answers: 2 prompt tokens ("question N"), 1 of them cached, and 4 completion tokens; the judge replies "7", one token.
  fx.model.setBehaviour({
    reply: (body) => (body.model === 'cached-judge' ? '7' : 'Paris is the capital'),
    cachedTokens: (body, prompt) => (body.model === 'cached-judge' ? prompt - JUDGE_UNCACHED : 1),
  });
  fx.runner();
  const created = await fx.api.call('POST', '/v1/experiment', {
    body: {
      name: 'cached-prices',
      dataset: 'cached',
      model: { name: 'cached-model', base_url: fx.model.url, prices: { input: 1, output: 2, cached_input: 0.5 } },
      judge_model: { name: 'cached-judge', base_url: fx.model.url, prices: { input: 10, output: 20, cached_input: 5 } },
      metrics: ['judge_notator'],
      // Far above what it spends: weighed on every commit, so the SQL prices the totals too.
      max_cost: 1,
    },
  });
  expect(created.status).toBe(200);
  await terminal(fx.api, created.body.id, 60_000);
  exp = (await fx.api.call('GET', `/v1/experiment/${created.body.id}?with_results=true&with_answers=true`)).body;
  expect(exp.experiment_status).toBe('finished');
});

/** The judge calls' prompt tokens: the same for every row (the rows differ by a number only). */
function judgePrompt(): number {
  const usages = exp.results.find((r: any) => r.metric_name === 'judge_notator').observation_table.map((o: any) => o.observation.judge_usage);
  expect(usages).toHaveLength(ROWS);
  const prompt = usages[0].prompt_tokens;
  expect(prompt).toBeGreaterThan(JUDGE_UNCACHED);
  // Each observation's judge_usage carries the cached tokens its judge call reported.
  for (const u of usages) expect(u).toEqual({ prompt_tokens: prompt, completion_tokens: 1, cached_tokens: prompt - JUDGE_UNCACHED });
  return prompt;
}

it('stores each answer\'s cached prompt tokens, in the experiment\'s answers and in its rows', async () => {
  expect(exp.answers).toHaveLength(ROWS);
  for (const a of exp.answers) expect(a).toMatchObject({ nb_tokens_prompt: 2, nb_tokens_cached: 1, nb_tokens_completion: 4, error_msg: null });
  const rows = (await fx.api.call('GET', `/v1/experiment/${exp.id}/rows?limit=10`)).body.rows;
  expect(rows.map((r: any) => r.answer.nb_tokens_cached)).toEqual([1, 1, 1]);
});

it('prices the cached prompt tokens at the cached-input price, the answers\' and the judge calls\' apart', () => {
  const p = judgePrompt();
  // Answers: 3 × ((2 − 1) × $1 + 1 × $0.50 + 4 × $2) / 1M = 3 × $9.5 / 1M = $0.0000285 (uncached it would be $0.00003).
  expect(exp.cost.answers).toMatchObject({ calls: ROWS, prompt_tokens: 6, cached_prompt_tokens: 3, completion_tokens: 12, price: { input: 1, output: 2, cached_input: 0.5 } });
  near(exp.cost.answers.cost, 0.0000285);
  // Judge: 3 × (8 × $10 + (p − 8) × $5 + 1 × $20) / 1M, p its prompt tokens.
  const judge = (3 * (JUDGE_UNCACHED * 10 + (p - JUDGE_UNCACHED) * 5 + 20)) / 1e6;
  expect(exp.cost.judge).toMatchObject({ calls: ROWS, prompt_tokens: 3 * p, cached_prompt_tokens: 3 * (p - JUDGE_UNCACHED), completion_tokens: 3 });
  near(exp.cost.judge.cost, judge);
  near(exp.cost.total, 0.0000285 + judge);
  expect(exp.cost).not.toHaveProperty('reason');
});

it('counts the same tokens at the same prices in what was spent, in the API and in the SQL that weighs a cap', async () => {
  const p = judgePrompt();
  expect(exp.spent).toMatchObject({
    tokens: 3 * (2 + 4) + 3 * (p + 1),
    answers: { prompt_tokens: 6, cached_prompt_tokens: 3, completion_tokens: 12 },
    judge: { prompt_tokens: 3 * p, cached_prompt_tokens: 3 * (p - JUDGE_UNCACHED), completion_tokens: 3 },
  });
  near(exp.spent.answers.cost, exp.cost.answers.cost);
  near(exp.spent.judge.cost, exp.cost.judge.cost);
  near(exp.spent.cost, exp.cost.total);
  // The running totals behind it are the store's, not the API's.
  expect(exp).not.toHaveProperty('used_cached_prompt_tokens');
  expect(exp).not.toHaveProperty('used_judge_cached_prompt_tokens');
  const { rows } = await fx.api.pool.query('SELECT answer_cost, judge_cost FROM evalap_spent(ARRAY[$1::int])', [exp.id]);
  near(rows[0].answer_cost, exp.cost.answers.cost);
  near(rows[0].judge_cost, exp.cost.judge.cost);
});

it('prices each row\'s answer and judge call the same way in the CLI\'s row exports, adding up to the totals', async () => {
  const records = await fetchRowRecords(new ApiClient(fx.api.url), [exp], ['cached-prices']);
  expect(records).toHaveLength(ROWS);
  for (const r of records) near(r.answer_cost_usd, 0.0000095);
  near(records.reduce((s, r) => s + r.judge_cost_usd!, 0), exp.cost.judge.cost);
});
