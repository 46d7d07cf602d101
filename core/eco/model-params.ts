/**
 * A model's active and total parameter counts (billions), from the shipped
 * table or, for a model it lacks, estimated from its name as Evalap does
 * (evalap/utils_eco.py) and flagged `estimated`.
 */
import { MODEL_SIZES, type ModelSize } from './model-table.js';

export interface ModelParams {
  active_params: number;
  total_params: number;
  estimated: boolean;
}

/** Evalap's default for a model whose name tells nothing: 100 B. */
const DEFAULT_SIZE = 100;

/** Name fragments and the size they suggest, tried in this order: "xxl" is read as "xl", as Evalap reads it. */
const SIZE_HINTS: readonly (readonly [string, number])[] = [
  ['mini', 3],
  ['small', 7],
  ['medium', 35],
  ['large', 70],
  ['xl', 200],
  ['xxl', 400],
];
const MOE_HINTS = ['moe', 'mixture', 'sparse'];

/** Providers prefix names with an organisation ("mistralai/…"); Evalap compares the last segment, case-insensitively. */
const lastSegment = (name: string) => name.split('/').at(-1)!.toLowerCase();

const byName = new Map<string, ModelSize>();
for (const [key, size] of Object.entries(MODEL_SIZES)) {
  byName.set(key.toLowerCase(), size);
  // Keys with an organisation ("deepseek-ai/DeepSeek-V3") also match the bare name a provider sends.
  if (!byName.has(lastSegment(key))) byName.set(lastSegment(key), size);
}

export function estimateParams(name: string): ModelParams {
  const lower = lastSegment(name);
  const total = SIZE_HINTS.find(([hint]) => lower.includes(hint))?.[1] ?? DEFAULT_SIZE;
  // A mixture of experts is taken to use a quarter of its parameters per token (Evalap's rule, integer division).
  const active = MOE_HINTS.some((hint) => lower.includes(hint)) ? Math.floor(total / 4) : total;
  return { active_params: active, total_params: total, estimated: true };
}

export function modelParams(name: string): ModelParams {
  const size = byName.get(name.toLowerCase()) ?? byName.get(lastSegment(name));
  if (!size) return estimateParams(name);
  // Evalap counts a q8 model at half its size.
  const factor = size.quantization === 'q8' ? 0.5 : 1;
  return { active_params: size.active * factor, total_params: size.total * factor, estimated: false };
}
