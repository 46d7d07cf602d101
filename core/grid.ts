/**
 * Expansion of an experiment set's `cv` grid: the cartesian product of
 * `grid_params`, each combination merged into `common_params`, each repeated
 * `repeat` times. Object values are merged key by key (a grid of
 * `{"model": [{"sampling_params": {"temperature": 0}}, ...]}` keeps the common
 * model's other fields); any other value replaces the common one.
 */
import type { GridCV } from './schemas.js';

type Json = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Json, v) : v;
  }
  return out;
}

/** The largest grid one request may expand to. */
export const MAX_GRID = 1000;

/** Number of experiments the grid yields, computed without expanding it. */
export function gridSize(cv: GridCV): number {
  return Object.values(cv.grid_params).reduce((n, values) => n * values.length, 1) * cv.repeat;
}

/** The grid's experiments, in order: the last grid parameter varies fastest, repeats are adjacent. */
export function expandGrid(cv: GridCV): Json[] {
  const entries = Object.entries(cv.grid_params);
  let combos: Json[] = [{}];
  for (const [key, values] of entries) {
    combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [key]: value })));
  }
  return combos.flatMap((combo) => {
    const experiment = deepMerge(cv.common_params, combo);
    return Array.from({ length: cv.repeat }, () => structuredClone(experiment));
  });
}
