/**
 * Energy and carbon per model call (core/eco) against figures worked out by
 * hand from EcoLogits' published method, version 0.6.2 (the one Evalap pins):
 * docs/methodology/llm_inference.md and ecologits/impacts/llm.py at tag 0.6.2
 * of github:genai-impact/ecologits. Its constants, in kWh and seconds:
 *   GPU energy per token  = 8.91e-8 × P_active + 1.43e-6  ± 1.96 × 5.19e-7 (= 1.01724e-6)
 *   GPU latency per token = 8.02e-4 × P_active + 2.23e-2  ± 1.96 × 7.00e-6 (= 1.372e-5)
 *   GPUs = ceil(1.2 × P_total × 4 bits / 8 / 80 GB); server 1 kW per 8 GPUs; PUE 1.2
 *   embodied: server 3000 kgCO2eq / 8 GPUs + 143 kgCO2eq per GPU, over 5 × 365 × 24 × 3600 = 157,680,000 s
 * Electricity GWP (ecologits/data/electricity_mixes.csv): WOR 0.590478, FRA 0.0813225 kgCO2eq/kWh.
 */
import { loadConfig } from '../../core/config.js';
import { ecoScore, emissionCarbon, midpoint } from '../../core/eco/emission.js';
import { zoneFor } from '../../core/eco/electricity-mixes.js';
import { computeImpacts, gpuCount } from '../../core/eco/impacts.js';
import { estimateParams, modelParams } from '../../core/eco/model-params.js';
import { ConfigError } from '../../core/errors.js';
import { scoreInline } from '../../core/metrics/score.js';

/** `actual` within a relative 1e-9 of `expected`: the figures span 1e-6 to 1e1. */
const near = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-9);
const nearRange = (actual: unknown, min: number, max: number) => {
  const r = actual as { min: number; max: number };
  near(r.min, min);
  near(r.max, max);
};

describe('EcoLogits impacts of one generation', () => {
  it('a dense 70B model, 200 tokens in 10 s on the world mix: the measured latency caps the modelled one', () => {
    // Energy/token = 8.91e-8 × 70 + 1.43e-6 = 7.667e-6; × 200 tokens, ∓ 1.01724e-6 × 200:
    //   GPU energy = [200 × 6.64976e-6, 200 × 8.68424e-6] = [1.329952e-3, 1.736848e-3] kWh.
    // Latency/token = 8.02e-4 × 70 + 2.23e-2 = 0.07844 s; × 200 = [15.685256, 15.690744] s, longer than
    //   the 10 s measured, so the generation time is 10 s.
    // GPUs = ceil(1.2 × 70 × 0.5 / 80) = ceil(0.525) = 1. Server = 10/3600 h × 1 kW × 1/8 = 3.4722222e-4 kWh.
    // Energy = 1.2 × (3.4722222e-4 + [1.329952e-3, 1.736848e-3]) = [2.0126090667e-3, 2.5008842667e-3] kWh.
    // Embodied GWP = 10 / 157,680,000 × (3000/8 + 143 = 518) = 3.2851344495e-5 kgCO2eq.
    // GWP = energy × 0.590478 + embodied = [1.2212527210e-3, 1.5095684845e-3] kgCO2eq.
    const i = computeImpacts({ activeParams: 70, totalParams: 70, outputTokens: 200, latencySec: 10, mix: { gwp: 0.590478, adpe: 7.37708e-8, pe: 9.988 } });
    expect(i.gpuCount).toBe(1);
    expect(i.latencyCapped).toBe(true);
    nearRange(i.energy, 2.0126090666666664e-3, 2.5008842666666667e-3);
    nearRange(i.embodied.gwp, 3.285134449518011e-5, 3.285134449518011e-5);
    nearRange(i.gwp, 1.22125272096238e-3, 1.5095684845079802e-3);
    // Usage PE = energy × 9.988 MJ/kWh.
    nearRange(i.usage.pe, 2.0126090666666664e-3 * 9.988, 2.5008842666666667e-3 * 9.988);
  });

  it('a 37B-active / 671B mixture of experts, 500 tokens in 60 s on the French mix: six GPUs and the modelled latency range', () => {
    // Energy/token = 8.91e-8 × 37 + 1.43e-6 = 4.7267e-6; GPU energy = 500 × [3.70946e-6, 5.74394e-6] = [1.85473e-3, 2.87197e-3] kWh.
    // Latency/token = 8.02e-4 × 37 + 2.23e-2 = 0.051974; × 500 ∓ 500 × 1.372e-5 = [25.98014, 25.99386] s, under 60 s: kept.
    // GPUs = ceil(1.2 × 671 × 0.5 / 80) = ceil(5.0325) = 6. Server = [25.98014, 25.99386] / 3600 × 6/8 = [5.4125291667e-3, 5.4153875e-3] kWh.
    // Energy = 1.2 × (server + 6 × GPU energy) = 1.2 × ([5.4125291667e-3 + 1.112838e-2, 5.4153875e-3 + 1.723182e-2]) = [1.9849091e-2, 2.7176649e-2] kWh.
    // Embodied GWP = [25.98014, 25.99386] / 157,680,000 × (6/8 × 3000 + 6 × 143 = 3108) = [5.1208951750e-4, 5.1235994977e-4].
    // GWP = energy × 0.0813225 + embodied = [2.1262672204e-3, 2.7224329881e-3] kgCO2eq.
    const i = computeImpacts({ activeParams: 37, totalParams: 671, outputTokens: 500, latencySec: 60, mix: { gwp: 0.0813225, adpe: 4.85798e-8, pe: 11.289 } });
    expect(i.gpuCount).toBe(6);
    expect(i.latencyCapped).toBe(false);
    nearRange(i.energy, 0.019849091, 0.027176649);
    nearRange(i.embodied.gwp, 5.120895175038052e-4, 5.123599497716896e-4);
    nearRange(i.gwp, 2.126267220351305e-3, 2.72243298807419e-3);
  });

  it('needs one GPU up to 133B parameters and two from 134B (4-bit weights plus 20% on 80 GB)', () => {
    // 1.2 × 133 × 0.5 = 79.8 GB ≤ 80; 1.2 × 134 × 0.5 = 80.4 GB > 80.
    expect(gpuCount(133)).toBe(1);
    expect(gpuCount(134)).toBe(2);
  });

  it('counts no GPU energy for a call that produced no token', () => {
    const i = computeImpacts({ activeParams: 8, totalParams: 8, outputTokens: 0, latencySec: 0.5, mix: { gwp: 1, adpe: 1, pe: 1 } });
    nearRange(i.usage.energy, 0, 0);
    expect(i.energy).toEqual({ min: 0, max: 0 });
  });

  it('refuses negative token counts and latencies, as Evalap does', () => {
    const mix = { gwp: 1, adpe: 1, pe: 1 };
    expect(() => computeImpacts({ activeParams: 8, totalParams: 8, outputTokens: -1, latencySec: 1, mix })).toThrow(RangeError);
    expect(() => computeImpacts({ activeParams: 8, totalParams: 8, outputTokens: 1, latencySec: -0.1, mix })).toThrow(RangeError);
  });
});

describe('model sizes', () => {
  it('finds a model of the table by its name in any case, with or without an organisation prefix', () => {
    expect(modelParams('meta-llama/Llama-3.3-70B-Instruct')).toEqual({ active_params: 70, total_params: 70, estimated: false });
    expect(modelParams('DeepSeek-V3')).toEqual({ active_params: 37, total_params: 671, estimated: false });
    expect(modelParams('MIXTRAL-8X7B-INSTRUCT-V0.1')).toEqual({ active_params: 14, total_params: 56, estimated: false });
    expect(modelParams('gpt-4o-mini')).toEqual({ active_params: 35, total_params: 35, estimated: false });
  });

  it('counts a q8 model at half its size, as Evalap does', () => {
    expect(modelParams('Chocolatine-2-14B-Instruct-v2.0.3')).toEqual({ active_params: 7, total_params: 7, estimated: false });
  });

  it('estimates an unknown model from its name as Evalap does, and flags it', () => {
    expect(modelParams('acme-chat')).toEqual({ active_params: 100, total_params: 100, estimated: true });
    expect(estimateParams('acme-small')).toMatchObject({ total_params: 7, active_params: 7 });
    // "large" → 70; a mixture of experts uses a quarter, rounded down: 17.
    expect(estimateParams('acme-large-moe')).toEqual({ active_params: 17, total_params: 70, estimated: true });
    // Evalap tries "xl" before "xxl", so an xxl name is read as xl.
    expect(estimateParams('acme-xxl')).toMatchObject({ total_params: 200 });
    // "mini" comes first: gpt-4.1-mini, unknown to the table, is 3B.
    expect(estimateParams('gpt-4.1-mini')).toMatchObject({ total_params: 3 });
  });
});

describe('electricity zone', () => {
  it('uses the French mix for models served by Albert and the world average for the others (Evalap\'s auto rule)', () => {
    expect(zoneFor('auto', 'https://albert.api.etalab.gouv.fr/v1')).toBe('FRA');
    expect(zoneFor('auto', 'https://api.openai.com/v1')).toBe('WOR');
    expect(zoneFor('auto', null)).toBe('WOR');
  });

  it('applies a configured zone to every model', () => {
    expect(zoneFor('DEU', 'https://albert.api.etalab.gouv.fr/v1')).toBe('DEU');
  });

  it('reads EVALAP_ECO_ZONE as auto by default and refuses a zone it has no mix for', () => {
    expect(loadConfig({}).EVALAP_ECO_ZONE).toBe('auto');
    expect(loadConfig({ EVALAP_ECO_ZONE: 'FRA' }).EVALAP_ECO_ZONE).toBe('FRA');
    expect(() => loadConfig({ EVALAP_ECO_ZONE: 'XYZ' })).toThrow(ConfigError);
  });
});

describe('the emission_carbon record', () => {
  it('has Evalap\'s shape: energy, gwp, adpe, pe, usage and embodied, with ranges and units, and the estimated flag', () => {
    const r = emissionCarbon({ model: 'llama-3.3-70b-instruct', baseUrl: 'https://api.example.com/v1', outputTokens: 200, latencySec: 10 }, 'auto');
    expect(r).toMatchObject({
      energy: { type: 'energy', unit: 'kWh', value: { min: expect.any(Number), max: expect.any(Number) } },
      gwp: { type: 'GWP', unit: 'kgCO2eq', value: { min: expect.any(Number), max: expect.any(Number) } },
      adpe: { unit: 'kgSbeq' },
      pe: { unit: 'MJ' },
      usage: { type: 'usage', energy: { unit: 'kWh' }, gwp: { unit: 'kgCO2eq' } },
      embodied: { type: 'embodied', gwp: { unit: 'kgCO2eq' } },
      estimated: false,
      zone: 'WOR',
    });
    // Same call as the first impacts case: the world mix and a 10 s cap.
    nearRange(r.energy.value, 2.0126090666666664e-3, 2.5008842666666667e-3);
    nearRange(r.gwp.value, 1.22125272096238e-3, 1.5095684845079802e-3);
    // EcoLogits reports embodied impacts as plain numbers when the measured latency is used.
    near(r.embodied.gwp.value as number, 3.285134449518011e-5);
  });

  it('estimates an unknown model served by Albert on the French mix', () => {
    // acme-chat-moe: 100B estimated, 25B active. Energy/token = 8.91e-8 × 25 + 1.43e-6 = 3.6575e-6;
    // GPU energy = 100 × [2.64026e-6, 4.67474e-6] = [2.64026e-4, 4.67474e-4]. Latency 100 × 0.04235 ≈ 4.24 s > 1 s: 1 s.
    // GPUs = ceil(1.2 × 100 × 0.5 / 80) = 1; server = 1/3600 × 1/8 = 3.4722222e-5 kWh.
    // Energy = 1.2 × ([2.98748222e-4, 5.02196222e-4]) = [3.5849786667e-4, 6.0263546667e-4]; midpoint 4.8056666667e-4.
    // GWP = energy × 0.0813225 + 1/157,680,000 × 518 (3.2851344e-6).
    const r = emissionCarbon({ model: 'acme-chat-moe', baseUrl: 'https://albert.api.etalab.gouv.fr/v1', outputTokens: 100, latencySec: 1 }, 'auto');
    expect(r).toMatchObject({ estimated: true, zone: 'FRA', active_params: 25, total_params: 100 });
    nearRange(r.energy.value, 3.5849786666666665e-4, 6.026354666666667e-4);
    nearRange(r.gwp.value, 3.5849786666666665e-4 * 0.0813225 + 518 / 157680000, 6.026354666666667e-4 * 0.0813225 + 518 / 157680000);
  });
});

describe('energy_consumption and gwp_consumption', () => {
  const record = emissionCarbon({ model: 'llama-3.3-70b-instruct', baseUrl: null, outputTokens: 200, latencySec: 10 }, 'WOR');

  it('score the midpoint of the answer\'s energy range in kWh and of its GWP range in kgCO2eq', () => {
    // (2.0126090667e-3 + 2.5008842667e-3) / 2 and (1.2212527210e-3 + 1.5095684845e-3) / 2, from the first case.
    const energy = scoreInline('energy_consumption', null, { output: 'x', emission_carbon: record });
    const gwp = scoreInline('gwp_consumption', null, { output: 'x', emission_carbon: record });
    near((energy as { score: number }).score, 2.2567466666666668e-3);
    near((gwp as { score: number }).score, 1.36541060273518e-3);
  });

  it('give no score, and say why, for an answer without an estimate (outputs brought with the experiment)', () => {
    const out = scoreInline('energy_consumption', null, { output: 'x' });
    expect(out).toEqual({ score: null, observation: expect.stringContaining('no energy or carbon estimate') });
    expect(scoreInline('gwp_consumption', null, { output: 'x', emission_carbon: null })).toMatchObject({ score: null });
  });

  it('read a figure given as a plain number as having no range, as Evalap does', () => {
    expect(ecoScore({ energy: { value: 0.5 } }, 'energy')).toBeNull();
    expect(midpoint(0.5)).toBe(0.5);
    expect(midpoint({ min: 1, max: 3 })).toBe(2);
  });
});
