/**
 * Budget caps' arithmetic (core/cost/budget.ts): what an experiment spent
 * from its running totals at its pinned prices, a set's sum, which caps are
 * reached, the launch's refusal of a USD cap it cannot weigh, and the
 * schemas' refusal of bad caps. Expected figures are worked out by hand.
 */
import { describeReached, pinnedPrice, reachedCaps, spentOf, sumSpent, unpricedIssues, usdFigure, type Spent } from '../../core/cost/budget.js';
import { ExperimentCreate, ExperimentPatch, ExperimentSetCreate } from '../../core/schemas.js';
import { statusText } from '../../cli/status.js';

const model = { name: 'm', prices: { input: 1, output: 2, source: 'model' } };
const judge = { name: 'j', prices: { input: 10, output: 20, cached_input: 5, source: 'model' } };
const used = (p: number, c: number, jp: number, jc: number, cached = 0, judgeCached = 0) => ({
  used_prompt_tokens: p,
  used_completion_tokens: c,
  used_judge_prompt_tokens: jp,
  used_judge_completion_tokens: jc,
  used_cached_prompt_tokens: cached,
  used_judge_cached_prompt_tokens: judgeCached,
});
const near = (actual: number | null | undefined, expected: number) => {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(1e-12);
};
/** `s`'s tokens, its answers' tokens and every cost, as worked out by hand. */
function expectSpent(s: Spent | null, tokens: number, answers: { prompt_tokens: number; completion_tokens: number }, costs: { answers: number; judge: number; total: number }) {
  expect(s).not.toBeNull();
  expect(s!.tokens).toBe(tokens);
  expect(s!.answers).toMatchObject(answers);
  near(s!.answers.cost, costs.answers);
  near(s!.judge.cost, costs.judge);
  near(s!.cost, costs.total);
}

describe('what an experiment spent', () => {
  it('prices the answers at the model\'s pinned price and the judge calls at the judge\'s, every prompt token at the input price', () => {
    // Answers: (1000 × $1 + 500 × $2) / 1M = $0.002; judge: (300 × $10 + 20 × $20) / 1M = $0.0034 (cached_input unused: no cached counts).
    const s = spentOf({ model, judge_model: judge, has_raw_output: false, ...used(1000, 500, 300, 20) });
    expectSpent(s, 1820, { prompt_tokens: 1000, completion_tokens: 500 }, { answers: 0.002, judge: 0.0034, total: 0.0054 });
  });

  it('charges nothing for outputs brought with the experiment, and 0 for a part with no tokens even without a price', () => {
    const s = spentOf({ model: { name: 'byo' }, judge_model: null, has_raw_output: true, ...used(0, 0, 0, 0) })!;
    const nothing = { prompt_tokens: 0, cached_prompt_tokens: 0, completion_tokens: 0, cost: 0 };
    expect(s).toEqual({ tokens: 0, cost: 0, answers: nothing, judge: nothing });
  });

  it('gives tokens without a pinned price a null cost (the table is not asked: the cap saw only pinned prices), and the total null', () => {
    // gpt-4o-mini is in the shipped table, but this definition has no pinned `prices`.
    const s = spentOf({ model: { name: 'gpt-4o-mini' }, judge_model: judge, has_raw_output: false, ...used(10, 10, 1, 1) })!;
    expect(s.answers.cost).toBeNull();
    near(s.judge.cost, 0.00003);
    expect(s.cost).toBeNull();
    expect(s.tokens).toBe(22);
  });

  it('prices the cached prompt tokens at the pinned cached_input, at input where the definition has none, and counts them once in the tokens', () => {
    // Answers (no cached price): (1000 × $1 + 500 × $2) / 1M = $0.002, the 400 cached at the input price.
    // Judge: (300 − 200) × $10 + 200 × $5 + 20 × $20 = 1000 + 1000 + 400 = 2400 → $0.0024 (not $0.0034 as uncached).
    const s = spentOf({ model, judge_model: judge, has_raw_output: false, ...used(1000, 500, 300, 20, 400, 200) });
    expectSpent(s, 1820, { prompt_tokens: 1000, completion_tokens: 500 }, { answers: 0.002, judge: 0.0024, total: 0.0044 });
    expect(s!.answers.cached_prompt_tokens).toBe(400);
    expect(s!.judge.cached_prompt_tokens).toBe(200);
  });

  it('counts no cached tokens for a row that has none recorded (null: launched before they were kept)', () => {
    const s = spentOf({ model, judge_model: judge, has_raw_output: false, ...used(1000, 500, 300, 20), used_cached_prompt_tokens: null, used_judge_cached_prompt_tokens: null });
    expectSpent(s, 1820, { prompt_tokens: 1000, completion_tokens: 500 }, { answers: 0.002, judge: 0.0034, total: 0.0054 });
    expect(s!.judge.cached_prompt_tokens).toBe(0);
  });

  it('is unknown (null) for an experiment launched before the totals were kept', () => {
    expect(spentOf({ model, judge_model: null, has_raw_output: false, ...used(0, 0, 0, 0), used_judge_prompt_tokens: null })).toBeNull();
  });

  it('reads a pinned price only from a definition with numeric input and output', () => {
    expect(pinnedPrice(judge)).toEqual({ input: 10, output: 20, cached_input: 5 });
    expect(pinnedPrice(model)).toEqual({ input: 1, output: 2 });
    expect(pinnedPrice({ prices: { input: 1, output: 2, cached_input: 'half' } })).toEqual({ input: 1, output: 2 });
    expect(pinnedPrice({ prices: { input: '1', output: 2 } })).toBeNull();
    expect(pinnedPrice(null)).toBeNull();
  });
});

describe('what a set spent', () => {
  const a = spentOf({ model, judge_model: judge, has_raw_output: false, ...used(1000, 500, 300, 20) });
  const b = spentOf({ model, judge_model: judge, has_raw_output: false, ...used(2000, 0, 0, 0) });

  it('sums its experiments part by part', () => {
    expectSpent(sumSpent([a, b]), 3820, { prompt_tokens: 3000, completion_tokens: 500 }, { answers: 0.004, judge: 0.0034, total: 0.0074 });
  });

  it('sums the cached prompt tokens too, each experiment priced with its own', () => {
    const cached = spentOf({ model, judge_model: judge, has_raw_output: false, ...used(0, 0, 300, 20, 0, 200) });
    // Judge: a's $0.0034 + the cached one's $0.0024 (see above).
    expectSpent(sumSpent([a, cached]), 2140, { prompt_tokens: 1000, completion_tokens: 500 }, { answers: 0.002, judge: 0.0058, total: 0.0078 });
    expect(sumSpent([a, cached])!.judge.cached_prompt_tokens).toBe(200);
  });

  it('is nothing for a set with no experiments, unknown as soon as one experiment\'s totals are, and of unknown cost as soon as one part\'s is', () => {
    expect(sumSpent([])).toMatchObject({ tokens: 0, cost: 0 });
    expect(sumSpent([a, null])).toBeNull();
    const unpriced = spentOf({ model: { name: 'x' }, judge_model: null, has_raw_output: false, ...used(5, 5, 0, 0) });
    expect(sumSpent([a, unpriced])).toMatchObject({ tokens: 1830, cost: null, answers: { cost: null } });
  });
});

describe('which caps are reached', () => {
  const spent: Spent = {
    tokens: 5012,
    cost: 0.5012,
    answers: { prompt_tokens: 4000, cached_prompt_tokens: 0, completion_tokens: 12, cost: 0.4 },
    judge: { prompt_tokens: 1000, cached_prompt_tokens: 0, completion_tokens: 0, cost: 0.1012 },
  };

  it('reaches a cap at the cap itself, not below it', () => {
    expect(reachedCaps({ max_cost: 0.5012, max_tokens_total: null }, spent)).toEqual([{ cap: 'max_cost', limit: 0.5012, spent: 0.5012 }]);
    expect(reachedCaps({ max_cost: 0.5013, max_tokens_total: 5013 }, spent)).toEqual([]);
    expect(reachedCaps({ max_cost: null, max_tokens_total: 5012 }, spent)).toEqual([{ cap: 'max_tokens_total', limit: 5012, spent: 5012 }]);
  });

  it('reports both caps when both are reached, and none without caps', () => {
    expect(reachedCaps({ max_cost: 0.5, max_tokens_total: 5000 }, spent).map((r) => r.cap)).toEqual(['max_cost', 'max_tokens_total']);
    expect(reachedCaps({ max_cost: null, max_tokens_total: null }, spent)).toEqual([]);
  });

  it('never reaches a max_cost on an unknown cost or unknown totals (the launch refuses such a cap)', () => {
    expect(reachedCaps({ max_cost: 0.01, max_tokens_total: null }, { ...spent, cost: null })).toEqual([]);
    expect(reachedCaps({ max_cost: 0.01, max_tokens_total: 1 }, null)).toEqual([]);
  });

  it('describes a reached cap with what was spent, rounded to the millionth as the recorded reasons are', () => {
    expect(describeReached({ cap: 'max_cost', limit: 0.5, spent: 0.50123449 })).toBe('max_cost of 0.5 USD (0.501234 USD spent)');
    expect(describeReached({ cap: 'max_tokens_total', limit: 5000, spent: 5012 })).toBe('max_tokens_total of 5000 (5012 tokens used)');
    expect([usdFigure(2), usdFigure(0.0000004), usdFigure(0.00012)]).toEqual(['2', '0', '0.00012']);
  });
});

describe('a USD cap the launch cannot weigh', () => {
  const parts = { model, modelPath: 'experiments.1.model', judge, judgePath: 'experiments.1.judge_model', answers: true, judged: true };

  it('needs a pinned price for the answers\' model and, when a metric asks it, for the judge', () => {
    expect(unpricedIssues(parts, 'max_cost', true)).toEqual([]);
    const issues = unpricedIssues({ ...parts, model: { name: 'local' }, judge: { name: 'judge-x' } }, 'experiments.1.max_cost', true);
    expect(issues.map((i) => i.path)).toEqual(['experiments.1.model', 'experiments.1.judge_model']);
    expect(issues[0].message).toMatch(/^experiments\.1\.max_cost needs the model's price: "local" is not in the shipped price table; give experiments\.1\.model\.prices \{input, output\}/);
    expect(issues[1].message).toContain('give experiments.1.judge_model as a model definition with prices');
  });

  it('asks nothing of calls the experiment does not make here: brought outputs, an unused judge', () => {
    expect(unpricedIssues({ ...parts, model: { name: 'byo' }, answers: false, judge: null, judged: false }, 'max_cost', true)).toEqual([]);
  });

  it('tells a stored experiment to cap in tokens instead, its prices being pinned', () => {
    expect(unpricedIssues({ ...parts, model: { name: 'local' } }, 'max_cost', false)[0].message).toContain('prices are pinned at launch, so cap it with max_tokens_total instead');
  });
});

describe('the caps in the API\'s bodies', () => {
  const base = { name: 'e', dataset: 'd' };
  const issue = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) => r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

  it('takes a positive max_cost and a positive whole max_tokens_total, or null', () => {
    expect(ExperimentCreate.safeParse({ ...base, max_cost: 0.5, max_tokens_total: 10_000 }).success).toBe(true);
    expect(ExperimentPatch.safeParse({ max_cost: null }).success).toBe(true);
  });

  it('refuses a cap at or below 0, a fraction of a token, and text, saying what is expected', () => {
    expect(issue(ExperimentCreate.safeParse({ ...base, max_cost: -1 }))).toEqual(['max_cost: expected a number of USD above 0']);
    expect(issue(ExperimentCreate.safeParse({ ...base, max_cost: 0 }))).toEqual(['max_cost: expected a number of USD above 0']);
    expect(issue(ExperimentCreate.safeParse({ ...base, max_cost: '1' }))).toEqual(['max_cost: expected a number of USD']);
    expect(issue(ExperimentCreate.safeParse({ ...base, max_tokens_total: 1.5 }))).toEqual([expect.stringMatching(/^max_tokens_total: expected a whole number of tokens from 1 to/)]);
    expect(issue(ExperimentSetCreate.safeParse({ name: 's', max_tokens_total: 0 }))).toEqual([expect.stringMatching(/^max_tokens_total: expected a whole number/)]);
  });
});

describe('the CLI\'s status of a stopped experiment', () => {
  it('says which cap stopped it, and no more than "stopped" for a stop asked for', () => {
    expect(statusText({ experiment_status: 'stopped', stop_reason: 'max_cost of 0.5 USD reached: 0.51 USD spent (answers 0.4, judge 0.11)' })).toBe('stopped: max_cost of 0.5 USD reached: 0.51 USD spent (answers 0.4, judge 0.11)');
    expect(statusText({ experiment_status: 'stopped', stop_reason: 'stopped by request' })).toBe('stopped');
    expect(statusText({ experiment_status: 'finished', stop_reason: null })).toBe('finished');
  });
});
