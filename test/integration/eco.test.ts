/**
 * Energy and carbon per model call, end to end: the runner (its own process)
 * answers through the stub model and scores with a stub judge; each answer
 * and judge observation stores its emission_carbon, the two eco metrics score
 * what core/eco computes from the model, its completion tokens and the call's
 * time, and `with_eco` and `/v1/ops_eco` total them as Evalap does.
 */
import { jest } from '@jest/globals';
import { ecoScore, emissionCarbon, midpoint, type EmissionCarbon } from '../../core/eco/emission.js';
import { runnerFixtures, terminal } from '../support/runner.js';

jest.setTimeout(90_000);

const fx = runnerFixtures();
const ROWS = 3;

const near = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-9);

beforeAll(async () => {
  const df = JSON.stringify(Array.from({ length: ROWS }, (_, i) => ({ query: `question ${i}`, output_true: `truth ${i}` })));
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name: 'eco', readme: '', df } })).status).toBe(200);
});

type Answer = { num_line: number; nb_tokens_completion: number; execution_time: number; emission_carbon: EmissionCarbon | null };
type Obs = { num_line: number; score: number | null; observation: unknown; error_msg: string | null; execution_time: number; emission_carbon: EmissionCarbon | null };

it('stores each answer\'s and judge call\'s energy and carbon, scores energy_consumption and gwp_consumption from them, and totals them', async () => {
  // Rows answer with 2, 4 and 6 words (the stub counts a word as a token), so each answer has its own figures.
  fx.model.setBehaviour({ latencyMs: 20, reply: (body) => (body.model === 'stub-judge' ? '7' : 'word '.repeat(2 * (1 + Number(/question (\d+)/.exec(JSON.stringify(body.messages))?.[1] ?? 0))).trim()) });
  const created = await fx.api.call('POST', '/v1/experiment', {
    body: {
      name: 'eco-run',
      dataset: 'eco',
      model: { name: 'llama-3.3-70b-instruct', base_url: fx.model.url },
      judge_model: { name: 'stub-judge', base_url: fx.model.url },
      metrics: ['energy_consumption', 'gwp_consumption', 'judge_notator'],
    },
  });
  expect(created.status).toBe(200);
  fx.runner();
  await terminal(fx.api, created.body.id, 60_000);
  const exp = (await fx.api.call('GET', `/v1/experiment/${created.body.id}?with_results=True&with_eco=True`)).body;
  expect(exp.experiment_status).toBe('finished');

  const answers = exp.answers as Answer[];
  expect(answers).toHaveLength(ROWS);
  for (const a of answers) {
    expect(a.nb_tokens_completion).toBe(2 * (a.num_line + 1));
    // What core/eco gives for this model, its tokens and the call's time (the API shows seconds; the runner measured ms).
    const expected = emissionCarbon({ model: 'llama-3.3-70b-instruct', baseUrl: fx.model.url, outputTokens: a.nb_tokens_completion, latencySec: a.execution_time }, 'auto');
    expect(a.emission_carbon).toMatchObject({ estimated: false, zone: 'WOR', active_params: 70, total_params: 70 });
    expect(a.emission_carbon).toEqual(JSON.parse(JSON.stringify(expected)));
  }
  const byLine = new Map(answers.map((a) => [a.num_line, a.emission_carbon!]));

  const result = (name: string) => exp.results.find((r: { metric_name: string }) => r.metric_name === name);
  for (const [metric, key] of [['energy_consumption', 'energy'], ['gwp_consumption', 'gwp']] as const) {
    const r = result(metric);
    expect(r).toMatchObject({ metric_status: 'finished', num_try: ROWS, num_success: ROWS });
    for (const o of r.observation_table as Obs[]) {
      expect(o.error_msg).toBeNull();
      near(o.score!, ecoScore(byLine.get(o.num_line), key)!);
      // Metrics that call no model carry no figure of their own.
      expect(o.emission_carbon).toBeNull();
    }
    const scores = (r.observation_table as Obs[]).map((o) => o.score!);
    near(r.summary.mean, scores.reduce((s, v) => s + v, 0) / ROWS);
  }

  // The judge's calls: stub-judge is not in the model table, so its size is estimated (100 B) and flagged.
  const judged = result('judge_notator').observation_table as Obs[];
  expect(judged).toHaveLength(ROWS);
  for (const o of judged) {
    expect(o.score).toBe(7);
    expect(o.emission_carbon).toMatchObject({ estimated: true, zone: 'WOR', active_params: 100, total_params: 100 });
    // One judge call replying "7": one completion token over the metric's time.
    const expected = emissionCarbon({ model: 'stub-judge', baseUrl: fx.model.url, outputTokens: 1, latencySec: o.execution_time }, 'auto');
    near(ecoScore(o.emission_carbon, 'energy')!, ecoScore(expected, 'energy')!);
  }

  // with_eco's totals: Evalap's flattened keys, each the sum of the rows' midpoints.
  const sum = (records: (EmissionCarbon | null)[], pick: (r: EmissionCarbon) => unknown) => records.reduce((s, r) => s + midpoint(pick(r!))!, 0);
  const answerRecords = answers.map((a) => a.emission_carbon);
  const judgeRecords = judged.map((o) => o.emission_carbon);
  expect(exp.eco.answers).toMatchObject({ total_entries_with_emissions: ROWS, first_emission_date: expect.any(String) });
  near(exp.eco.answers.total_emissions.energy, sum(answerRecords, (r) => r.energy.value));
  near(exp.eco.answers.total_emissions.gwp, sum(answerRecords, (r) => r.gwp.value));
  near(exp.eco.answers.total_emissions.usage_gwp, sum(answerRecords, (r) => r.usage.gwp.value));
  near(exp.eco.answers.total_emissions.embodied_gwp, sum(answerRecords, (r) => r.embodied.gwp.value));
  expect(Object.keys(exp.eco.answers.total_emissions).sort()).toEqual(
    ['adpe', 'embodied_adpe', 'embodied_gwp', 'embodied_pe', 'energy', 'gwp', 'pe', 'usage_adpe', 'usage_energy', 'usage_gwp', 'usage_pe'],
  );
  expect(exp.eco.observation_table.total_entries_with_emissions).toBe(ROWS);
  near(exp.eco.observation_table.total_emissions.energy, sum(judgeRecords, (r) => r.energy.value));

  // This file's database holds only this run's figures so far: /v1/ops_eco reports the same totals, with equivalents.
  const ops = (await fx.api.call('GET', '/v1/ops_eco')).body;
  expect(ops.answers.total_entries_with_emissions).toBe(ROWS);
  near(ops.answers.total_emissions.energy, exp.eco.answers.total_emissions.energy);
  near(ops.observation_table.total_emissions.gwp, exp.eco.observation_table.total_emissions.gwp);
  // A 5 W bulb: Wh / 5 hours; streaming: gwp × 10,000 / 317 hours (Evalap's ops page).
  near(ops.answers.equivalents.lightbulb_5w_hours, (ops.answers.total_emissions.energy * 1000) / 5);
  near(ops.answers.equivalents.streaming_hours, (ops.answers.total_emissions.gwp * 10000) / 317);

  // Without with_eco, answers are shown as Evalap's other views show them: no emission_carbon.
  const plain = (await fx.api.call('GET', `/v1/experiment/${created.body.id}?with_answers=true`)).body;
  expect(plain.answers[0]).not.toHaveProperty('emission_carbon');
  expect(plain).not.toHaveProperty('eco');
});

it('gives outputs brought with the experiment no energy or carbon score, with the reason, and no error', async () => {
  const created = await fx.api.call('POST', '/v1/experiment', {
    body: { name: 'eco-own', dataset: 'eco', model: { aliased_name: 'mine', output: ['a', 'b', 'c'], nb_tokens_completion: [1, 1, 1], execution_time: [1, 1, 1] }, metrics: ['energy_consumption', 'gwp_consumption'] },
  });
  expect(created.status).toBe(200);
  fx.runner();
  await terminal(fx.api, created.body.id, 60_000);
  const exp = (await fx.api.call('GET', `/v1/experiment/${created.body.id}?with_results=true&with_eco=true`)).body;
  expect(exp.experiment_status).toBe('finished');
  for (const a of exp.answers as Answer[]) expect(a.emission_carbon).toBeNull();
  for (const r of exp.results) {
    expect(r).toMatchObject({ metric_status: 'finished', num_try: ROWS, num_success: ROWS, summary: { support: 0 } });
    for (const o of r.observation_table as Obs[]) {
      expect(o).toMatchObject({ score: null, error_msg: null, observation: expect.stringContaining('no energy or carbon estimate') });
    }
  }
  // Evalap's empty totals, exactly.
  expect(exp.eco.answers).toEqual({ total_emissions: {}, total_entries_with_emissions: 0, first_emission_date: null });
});

it('computes the figures on the electricity mix EVALAP_ECO_ZONE names', async () => {
  fx.model.setBehaviour({ reply: () => 'two words' });
  const created = await fx.api.call('POST', '/v1/experiment', {
    body: { name: 'eco-zone', dataset: 'eco', model: { name: 'llama-3.3-70b-instruct', base_url: fx.model.url }, metrics: ['gwp_consumption'] },
  });
  expect(created.status).toBe(200);
  fx.runner({ EVALAP_ECO_ZONE: 'FRA' });
  await terminal(fx.api, created.body.id, 60_000);
  const exp = (await fx.api.call('GET', `/v1/experiment/${created.body.id}?with_results=true&with_eco=true`)).body;
  for (const a of exp.answers as Answer[]) {
    expect(a.emission_carbon).toMatchObject({ zone: 'FRA' });
    const expected = emissionCarbon({ model: 'llama-3.3-70b-instruct', baseUrl: fx.model.url, outputTokens: 2, latencySec: a.execution_time }, 'FRA');
    near(exp.results[0].observation_table.find((o: Obs) => o.num_line === a.num_line).score, ecoScore(expected, 'gwp')!);
  }
});
