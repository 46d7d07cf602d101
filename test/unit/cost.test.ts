/**
 * The price table, its lookup by model name, the price pinned into a model
 * definition, and the cost arithmetic. Expected costs are worked out by hand
 * here from the table's published prices (USD per million tokens): e.g.
 * gpt-4o-mini at $0.15 in / $0.60 out, OpenAI's pricing page as the table
 * cites it.
 */
import { callCost, experimentCost, partCost, sumCosts, NO_TOKENS, type TokenTotals } from '../../core/cost/cost.js';
import { pinPrices, priceInForce } from '../../core/cost/price-in-force.js';
import { PRICE_TABLE } from '../../core/cost/price-table.js';
import { tablePrice } from '../../core/cost/prices.js';
import { carbon, energy, usd } from '../../core/cost/units.js';

const tokens = (over: Partial<TokenTotals>): TokenTotals => ({ ...NO_TOKENS, ...over });

describe('the shipped price table', () => {
  it('cites, for every provider, the pricing page and the date its prices were read', () => {
    for (const provider of PRICE_TABLE) {
      expect(provider.source.url).toMatch(/^https:\/\/\S+$/);
      expect(provider.source.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(Object.keys(provider.models).length).toBeGreaterThan(0);
    }
  });

  it('has non-negative prices, a cached input never dearer than the input, and no model twice', () => {
    const keys = PRICE_TABLE.flatMap((p) => Object.keys(p.models).map((k) => k.toLowerCase()));
    expect(new Set(keys).size).toBe(keys.length);
    for (const price of PRICE_TABLE.flatMap((p) => Object.values(p.models))) {
      expect(price.input).toBeGreaterThanOrEqual(0);
      expect(price.output).toBeGreaterThanOrEqual(0);
      if (price.cached_input !== undefined) expect(price.cached_input).toBeLessThanOrEqual(price.input);
    }
  });
});

describe('finding a model\'s price by name', () => {
  it('finds a name as the table spells it, in any case', () => {
    expect(tablePrice('gpt-4o-mini')).toMatchObject({ entry: 'gpt-4o-mini', price: { input: 0.15, output: 0.6, cached_input: 0.075 }, source: { url: 'https://openai.com/api/pricing/' } });
    expect(tablePrice('GPT-4o-Mini')?.entry).toBe('gpt-4o-mini');
  });

  it('reads through the decorations providers add: organisation, snapshot date, Bedrock prefix and version, Vertex @date, -latest', () => {
    expect(tablePrice('openai/gpt-4o-2024-08-06')?.entry).toBe('gpt-4o');
    expect(tablePrice('us.anthropic.claude-3-5-haiku-20241022-v1:0')?.entry).toBe('claude-3-5-haiku');
    expect(tablePrice('claude-3-5-sonnet@20240620')?.entry).toBe('claude-3-5-sonnet');
    expect(tablePrice('claude-3-5-sonnet-v2')?.entry).toBe('claude-3-5-sonnet');
    expect(tablePrice('mistral-large-2411')?.entry).toBe('mistral-large');
    expect(tablePrice('mistral-small-latest')?.entry).toBe('mistral-small');
    expect(tablePrice('gpt-3.5-turbo-0125')?.entry).toBe('gpt-3.5-turbo');
    expect(tablePrice('gemini-2.0-flash-001')?.entry).toBe('gemini-2.0-flash');
  });

  it('never takes a longer or shorter model\'s price for a name', () => {
    expect(tablePrice('gpt-4o-mini')?.entry).not.toBe('gpt-4o');
    expect(tablePrice('gpt-4o')?.price.input).toBe(2.5);
    expect(tablePrice('gpt-4o-mini-tts')).toBeNull();
    expect(tablePrice('o3-pro')).toBeNull();
  });

  it('has no price for a model it does not list', () => {
    expect(tablePrice('meta-llama/Llama-3.3-70B-Instruct')).toBeNull();
    expect(tablePrice('albert-large')).toBeNull();
  });
});

describe('the price in force', () => {
  it('pins the definition\'s own prices, marked as the model\'s', () => {
    const pinned = pinPrices({ name: 'gpt-4o-mini', prices: { input: 1, output: 2 } });
    expect(pinned.prices).toEqual({ input: 1, output: 2, source: 'model' });
    expect(priceInForce(pinned)).toEqual({ price: { input: 1, output: 2, source: 'model' } });
  });

  it('pins the table\'s price, with the entry, page and date it came from', () => {
    expect(pinPrices({ name: 'gpt-4o-mini' }).prices).toEqual({ input: 0.15, output: 0.6, cached_input: 0.075, source: 'table', entry: 'gpt-4o-mini', url: 'https://openai.com/api/pricing/', as_of: '2025-08-07' });
  });

  it('leaves a definition the table does not know as it was', () => {
    const model = { name: 'local-model', base_url: 'http://x' };
    expect(pinPrices(model)).toEqual(model);
  });

  it('keeps a pinned price when the table has changed since (the stored one wins)', () => {
    const launchedEarlier = { name: 'gpt-4o-mini', prices: { input: 0.3, output: 1.2, source: 'table', entry: 'gpt-4o-mini', as_of: '2024-07-18' } };
    expect(priceInForce(launchedEarlier).price).toMatchObject({ input: 0.3, output: 1.2, source: 'table', as_of: '2024-07-18' });
  });

  it('falls back on the current table for a definition launched before prices were pinned, and gives the reason when there is none', () => {
    expect(priceInForce({ name: 'gpt-4o' }).price).toMatchObject({ input: 2.5, output: 10, source: 'table' });
    const none = priceInForce({ name: 'local-model' });
    expect(none.price).toBeNull();
    expect('reason' in none && none.reason).toMatch(/no price for "local-model".*prices/);
  });
});

describe('cost arithmetic', () => {
  it('charges prompt and completion tokens at their price per million', () => {
    // gpt-4o-mini: 1,000 × $0.15/M + 500 × $0.60/M = $0.00015 + $0.0003 = $0.00045.
    expect(callCost({ prompt: 1000, completion: 500 }, { input: 0.15, output: 0.6 })).toBeCloseTo(0.00045, 12);
  });

  it('charges cached prompt tokens at the cached price, and at the input price where there is none', () => {
    // gpt-4o: 600 × $2.50/M + 400 × $1.25/M + 200 × $10/M = $0.0015 + $0.0005 + $0.002 = $0.004.
    expect(callCost({ prompt: 1000, cachedPrompt: 400, completion: 200 }, { input: 2.5, output: 10, cached_input: 1.25 })).toBeCloseTo(0.004, 12);
    // gpt-4-turbo has no cached price: 1,000 × $10/M + 0 = $0.01.
    expect(callCost({ prompt: 1000, cachedPrompt: 400, completion: 0 }, { input: 10, output: 30 })).toBeCloseTo(0.01, 12);
  });

  it('accounts the answers at the model\'s price and the judge calls at the judge\'s, apart', () => {
    const cost = experimentCost(
      { model: { name: 'gpt-4o-mini', prices: { input: 0.15, output: 0.6, source: 'table' } }, judge_model: { name: 'gpt-4o', prices: { input: 2.5, output: 10, source: 'table' } }, has_raw_output: false },
      { answers: tokens({ calls: 10, prompt_tokens: 20_000, completion_tokens: 5_000 }), judge: tokens({ calls: 10, prompt_tokens: 40_000, completion_tokens: 1_000 }) },
    );
    // Answers: 20,000 × 0.15/M + 5,000 × 0.60/M = 0.003 + 0.003 = $0.006, i.e. $0.0006 an answer.
    expect(cost.answers.cost).toBeCloseTo(0.006, 12);
    expect(cost.answers.per_call).toBeCloseTo(0.0006, 12);
    // Judge: 40,000 × 2.50/M + 1,000 × 10/M = 0.1 + 0.01 = $0.11.
    expect(cost.judge.cost).toBeCloseTo(0.11, 12);
    expect(cost.total).toBeCloseTo(0.116, 12);
    expect(cost).not.toHaveProperty('reason');
  });

  it('gives an unknown price null with the reason, never 0, and then no total', () => {
    const cost = experimentCost({ model: { name: 'local-model' }, judge_model: null, has_raw_output: false }, { answers: tokens({ calls: 3, prompt_tokens: 30, completion_tokens: 30 }), judge: NO_TOKENS });
    expect(cost.answers.cost).toBeNull();
    expect(cost.answers.reason).toMatch(/no price for "local-model"/);
    expect(cost.judge.cost).toBe(0);
    expect(cost.total).toBeNull();
    expect(cost.reason).toMatch(/^answers: no price/);
  });

  it('costs 0 where nothing was called, whatever the price', () => {
    expect(partCost({ name: 'local-model' }, NO_TOKENS).cost).toBe(0);
  });

  it('says the cost is unknown when the provider reported no token counts, and what it leaves out when some lack them', () => {
    const price = { name: 'm', prices: { input: 1, output: 1 } };
    expect(partCost(price, tokens({ without_tokens: 4 }))).toMatchObject({ cost: null, reason: 'the provider reported no token counts' });
    // 2 calls counted: (100 + 100) × $1/M = $0.0002; the third is named, not guessed.
    expect(partCost(price, tokens({ calls: 2, prompt_tokens: 100, completion_tokens: 100, without_tokens: 1 }))).toMatchObject({ cost: 0.0002, reason: '1 call(s) without token counts are not counted' });
  });

  it('does not charge answers brought with the experiment: the total is the judge\'s', () => {
    const cost = experimentCost({ model: { name: 'gpt-4o', aliased_name: 'mine' }, judge_model: { name: 'j', prices: { input: 1, output: 1 } }, has_raw_output: true }, { answers: tokens({ calls: 3, prompt_tokens: 300, completion_tokens: 300 }), judge: tokens({ calls: 3, prompt_tokens: 1000, completion_tokens: 0 }) });
    expect(cost.answers).toMatchObject({ model: 'mine', cost: null, reason: expect.stringContaining('generated elsewhere') });
    // 1,000 × $1/M.
    expect(cost.total).toBeCloseTo(0.001, 12);
  });

  it('sums a set\'s experiments, unknown as soon as one experiment\'s cost is', () => {
    const known = experimentCost({ model: { name: 'm', prices: { input: 1, output: 0 } }, judge_model: null, has_raw_output: false }, { answers: tokens({ calls: 1, prompt_tokens: 1_000_000 }), judge: NO_TOKENS });
    const unknown = experimentCost({ model: { name: 'local-model' }, judge_model: null, has_raw_output: false }, { answers: tokens({ calls: 1, prompt_tokens: 1 }), judge: NO_TOKENS });
    expect(sumCosts([known, known])).toEqual({ total: 2, answers: 2, judge: 0, unknown: 0 });
    expect(sumCosts([known, unknown])).toEqual({ total: null, answers: null, judge: 0, unknown: 1 });
  });
});

describe('units as the CLI and UI show them', () => {
  it('shows dollars with three significant digits, however small, never in exponent notation', () => {
    expect(usd(12.345)).toBe('$12.3');
    expect(usd(0.00045)).toBe('$0.00045');
    expect(usd(0.000001234)).toBe('$0.00000123');
    expect(usd(0)).toBe('$0');
    expect(usd(null)).toBe('—');
  });

  it('shows energy in kWh, Wh or mWh and carbon in kgCO2eq, gCO2eq (below 1 kg, as Evalap) or mgCO2eq', () => {
    expect(energy(2.5)).toBe('2.5 kWh');
    expect(energy(0.0123)).toBe('12.3 Wh');
    expect(energy(0.0000042)).toBe('4.2 mWh');
    expect(carbon(1.5)).toBe('1.5 kgCO2eq');
    expect(carbon(0.0042)).toBe('4.2 gCO2eq');
    expect(carbon(0.000123)).toBe('123 mgCO2eq');
    expect(carbon(null)).toBe('—');
  });
});
