/**
 * Energy and environmental impacts of one LLM generation, by the EcoLogits
 * method as EcoLogits 0.6.2 implements it (the version Evalap pins):
 * https://ecologits.ai/0.6/methodology/llm_inference/ and
 * ecologits/impacts/llm.py in github:genai-impact/ecologits at tag 0.6.2.
 *
 * - GPU energy per output token grows linearly with the active parameters
 *   (billions): α·P + β kWh, ± 1.96 σ for a 95% interval.
 * - Generation time per token likewise; the measured request latency caps it.
 * - The model's weights (4-bit, plus 20% overhead) decide how many 80 GB GPUs
 *   serve it; the server around them (1 kW for 8 GPUs) counts pro rata.
 * - Energy = PUE × (server energy + GPUs × GPU energy); usage impacts are the
 *   energy times the zone's electricity factors.
 * - Embodied impacts: the server's and GPUs' manufacturing impacts, spread over
 *   a 5-year life, times the generation time.
 * Every figure is a [min, max] range, as EcoLogits reports it.
 */
import type { ElectricityMix } from './electricity-mixes.js';

export interface Range {
  min: number;
  max: number;
}

/** The constants of EcoLogits 0.6.2 (ecologits/impacts/llm.py). */
export const ECOLOGITS = {
  quantizationBits: 4,
  gpuEnergy: { alpha: 8.91e-8, beta: 1.43e-6, stdev: 5.19e-7 },
  gpuLatency: { alpha: 8.02e-4, beta: 2.23e-2, stdev: 7.0e-6 },
  gpuMemoryGb: 80,
  gpuEmbodied: { gwp: 143, adpe: 5.1e-3, pe: 1828 },
  serverGpus: 8,
  serverPowerKw: 1,
  serverEmbodied: { gwp: 3000, adpe: 0.24, pe: 38000 },
  hardwareLifespanSec: 5 * 365 * 24 * 60 * 60,
  datacenterPue: 1.2,
} as const;

export interface ImpactInput {
  /** Billions. */
  activeParams: number;
  /** Billions. */
  totalParams: number;
  outputTokens: number;
  /** Seconds the request took, end to end. */
  latencySec: number;
  mix: ElectricityMix;
}

export interface Impacts {
  /** kWh. */
  energy: Range;
  /** kgCO2eq, usage + embodied. */
  gwp: Range;
  /** kgSbeq. */
  adpe: Range;
  /** MJ. */
  pe: Range;
  usage: { energy: Range; gwp: Range; adpe: Range; pe: Range };
  embodied: { gwp: Range; adpe: Range; pe: Range };
  /** Whether the generation time came from the latency measured (true) or from the per-token model. */
  latencyCapped: boolean;
  gpuCount: number;
}

const perToken = (p: number, k: { alpha: number; beta: number; stdev: number }, tokens: number): Range => {
  const mean = k.alpha * p + k.beta;
  return { min: Math.max(0, tokens * (mean - 1.96 * k.stdev)), max: tokens * (mean + 1.96 * k.stdev) };
};

const scale = (r: Range, f: number): Range => ({ min: r.min * f, max: r.max * f });
const add = (a: Range, b: Range): Range => ({ min: a.min + b.min, max: a.max + b.max });

export function gpuCount(totalParams: number): number {
  const memoryGb = 1.2 * totalParams * (ECOLOGITS.quantizationBits / 8);
  return Math.ceil(memoryGb / ECOLOGITS.gpuMemoryGb);
}

export function computeImpacts(input: ImpactInput): Impacts {
  const k = ECOLOGITS;
  if (!(input.outputTokens >= 0)) throw new RangeError('outputTokens must be a number ≥ 0');
  if (!(input.latencySec >= 0)) throw new RangeError('latencySec must be a number ≥ 0');
  const gpuEnergy = perToken(input.activeParams, k.gpuEnergy, input.outputTokens);
  const modelled = perToken(input.activeParams, k.gpuLatency, input.outputTokens);
  // The model's whole range fits in the measured latency: keep it; otherwise the measure is the better bound.
  const latencyCapped = !(modelled.max < input.latencySec);
  const latency: Range = latencyCapped ? { min: input.latencySec, max: input.latencySec } : modelled;
  const gpus = gpuCount(input.totalParams);
  const share = gpus / k.serverGpus;
  const serverEnergy = scale(latency, (k.serverPowerKw * share) / 3600);
  const energy = scale(add(serverEnergy, scale(gpuEnergy, gpus)), k.datacenterPue);
  const usage = { energy, gwp: scale(energy, input.mix.gwp), adpe: scale(energy, input.mix.adpe), pe: scale(energy, input.mix.pe) };
  const lifeShare = scale(latency, 1 / k.hardwareLifespanSec);
  const embodiedOf = (key: 'gwp' | 'adpe' | 'pe') => scale(lifeShare, share * k.serverEmbodied[key] + gpus * k.gpuEmbodied[key]);
  const embodied = { gwp: embodiedOf('gwp'), adpe: embodiedOf('adpe'), pe: embodiedOf('pe') };
  return {
    energy,
    gwp: add(usage.gwp, embodied.gwp),
    adpe: add(usage.adpe, embodied.adpe),
    pe: add(usage.pe, embodied.pe),
    usage,
    embodied,
    latencyCapped,
    gpuCount: gpus,
  };
}
