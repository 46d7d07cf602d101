/**
 * The CLI's energy, carbon and cost table and how the reports carry it, from
 * bodies shaped as `GET /v1/experiment/{id}?with_results=true` answers them.
 */
import { experimentCost, NO_TOKENS } from '../../core/cost/cost.js';
import type { RunReport } from '../../cli/exports.js';
import { impactRows, impactTable, impactTotals } from '../../cli/impacts.js';
import { htmlReport } from '../../cli/report-html.js';
import { junitReport } from '../../cli/report-junit.js';

const eco = (kWh: number, kg: number, n = 3) => ({ total_emissions: { energy: kWh, gwp: kg }, total_entries_with_emissions: n, first_emission_date: '2026-01-01T00:00:00Z' });
const NO_ECO = { total_emissions: {}, total_entries_with_emissions: 0, first_emission_date: null };

// A priced model ($1 in, $2 out per million) with a priced judge ($10 in, $20 out).
const priced = {
  id: 1,
  name: 'priced',
  model: { name: 'gpt-4o-mini', aliased_name: null },
  eco: { answers: eco(0.0123, 0.0042), observation_table: eco(0.0000042, 0.000123) },
  cost: experimentCost(
    { model: { name: 'gpt-4o-mini', prices: { input: 1, output: 2, source: 'model' } }, judge_model: { name: 'judge', prices: { input: 10, output: 20, source: 'model' } }, has_raw_output: false },
    // Answers: 1,000 × $1/M + 500 × $2/M = $0.002. Judge: 3,000 × $10/M + 30 × $20/M = $0.0306.
    { answers: { calls: 3, prompt_tokens: 1000, completion_tokens: 500, without_tokens: 0 }, judge: { calls: 3, prompt_tokens: 3000, completion_tokens: 30, without_tokens: 0 } },
  ),
};
const unpriced = {
  id: 2,
  name: 'unpriced',
  model: { name: 'local-model', aliased_name: 'local' },
  eco: { answers: eco(2.5, 1.5), observation_table: NO_ECO },
  cost: experimentCost({ model: { name: 'local-model' }, judge_model: null, has_raw_output: false }, { answers: { calls: 3, prompt_tokens: 10, completion_tokens: 10, without_tokens: 0 }, judge: NO_TOKENS }),
};

describe('the energy, carbon and cost table', () => {
  it('shows each experiment\'s answers and judge calls apart, in units chosen by magnitude', () => {
    const lines = impactTable(impactRows([priced])).split('\n');
    expect(lines[0].split(/ {2,}/)).toEqual(['experiment', 'model', 'answers energy', 'answers CO2', 'judge energy', 'judge CO2', 'answers cost', 'judge cost', 'total cost']);
    expect(lines[2].split(/ {2,}/)).toEqual(['priced', 'gpt-4o-mini', '12.3 Wh', '4.2 gCO2eq', '4.2 mWh', '123 mgCO2eq', '$0.002', '$0.0306', '$0.0326']);
    // One experiment: no total line, and nothing to explain.
    expect(lines).toHaveLength(3);
  });

  it('totals a set on an `all` line, with an unknown cost left unknown and its reason said', () => {
    const text = impactTable(impactRows([priced, unpriced]));
    const lines = text.split('\n');
    expect(lines[3].split(/ {2,}/)).toEqual(['unpriced', 'local', '2.5 kWh', '1.5 kgCO2eq', '—', '—', '—', '$0', '—']);
    // Energy: 0.0123 + 2.5 kWh; carbon: 0.0042 + 1.5 kg; the judge's alone; answers' cost unknown, so the total too.
    expect(lines[4].split(/ {2,}/)).toEqual(['all', '2.51 kWh', '1.5 kgCO2eq', '4.2 mWh', '123 mgCO2eq', '—', '$0.0306', '—']);
    expect(text).toContain('Cost notes:\n  unpriced: answers: no price for "local-model" in the shipped price table');
  });

  it('counts the experiments of unknown cost in the totals', () => {
    expect(impactTotals(impactRows([priced, unpriced]))).toMatchObject({ total_usd: null, judge_usd: expect.closeTo(0.0306, 12), unknown_cost: 1 });
  });
});

const report = (over: Partial<RunReport>): RunReport => ({ setName: 'set', results: [], impacts: impactRows([priced, unpriced]), rows: [], gates: [], problems: [], metrics: new Map(), metricNames: new Map(), ...over });

describe('the reports', () => {
  it('the HTML report has the table, the set\'s total, and where each price came from, with no link out', () => {
    const html = htmlReport(report({}));
    expect(html).toContain('<h2>Energy, carbon and cost</h2>');
    expect(html).toContain('<tr><td>priced</td><td>gpt-4o-mini</td><td>12.3 Wh</td><td>4.2 gCO2eq</td><td>4.2 mWh</td><td>123 mgCO2eq</td><td>$0.002</td><td>$0.0306</td><td>$0.0326</td></tr>');
    expect(html).toContain('<tr><td>all</td><td></td>');
    expect(html).toContain('priced, answers (gpt-4o-mini): $1 in / $2 out per million tokens, from the model definition');
    expect(html).not.toMatch(/https?:/);
  });

  it('the JUnit report gives each suite its figures as properties, in base units, empty when unknown', () => {
    const xml = junitReport(report({ rows: [{ experiment_id: 2, experiment: 'unpriced', variant: 'unpriced', model: 'local', num_line: 0, query: 'q', output_true: 't', answer: 'a', answer_error: null, metric: null, score: null, observation: null, observation_error: null, answer_cost_usd: null, judge_cost_usd: null }] }));
    expect(xml).toContain('<property name="answers_kwh" value="2.5"/><property name="answers_kgco2eq" value="1.5"/><property name="judge_kwh" value=""/>');
    expect(xml).toContain('<property name="answers_usd" value=""/><property name="judge_usd" value="0"/><property name="total_usd" value=""/>');
  });
});
