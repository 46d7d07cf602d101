/**
 * Ops metrics: the generation's own measurements (time, tokens, tool calls)
 * as the provider reported them, and its environmental impact estimated by
 * the EcoLogits method (core/eco/).
 */
import { ecoScore } from '../../eco/emission.js';
import { noParams } from '../params.js';
import type { InlineMetric, ScoreOutcome, ScoreInput } from '../types.js';

const ops = (name: string, description: string, score: (input: ScoreInput) => ScoreOutcome): InlineMetric => ({
  name,
  description,
  type: 'ops',
  require: ['output'],
  params: noParams,
  range: [0, Number.POSITIVE_INFINITY],
  higherIsBetter: false,
  score,
});

/** A field of the answer, times `scale`; an error when the answer has none. */
const field = (name: 'execution_time' | 'nb_tokens_prompt' | 'nb_tokens_completion' | 'nb_tool_calls', scale = 1) => (input: ScoreInput): ScoreOutcome => {
  const v = input[name];
  return typeof v === 'number' ? { score: v * scale, observation: null } : { error: `the answer has no ${name}` };
};

/** Evalap's energy_consumption / gwp_consumption: an answer without an estimate (its own outputs) has no score, and says why. */
const eco = (key: 'energy' | 'gwp') => (input: ScoreInput): ScoreOutcome => {
  const score = ecoScore(input.emission_carbon, key);
  if (score !== null) return { score, observation: null };
  return { score: null, observation: 'no energy or carbon estimate for this answer: it was not generated here (outputs brought with the experiment), or its provider reported no token count' };
};

export const opsMetrics: readonly InlineMetric[] = [
  ops('generation_time', 'Seconds the model took to answer.', field('execution_time', 1 / 1000)),
  ops('nb_tokens_prompt', 'Prompt tokens of the generation.', field('nb_tokens_prompt')),
  ops('nb_tokens_completion', 'Completion tokens of the generation.', field('nb_tokens_completion')),
  ops('nb_tool_calls', 'Tool calls made during the generation.', field('nb_tool_calls')),
  ops('energy_consumption', 'Energy consumption (kWh) of the generation: its environmental impact estimated by the EcoLogits method (midpoint of its range).', eco('energy')),
  ops('gwp_consumption', 'Global Warming Potential (kgCO2eq) of the generation: its environmental impact estimated by the EcoLogits method (midpoint of its range).', eco('gwp')),
];
