/** The figures the set views show, computed from the experiments the API returns. */
import type { Experiment, MetricInfo, Result } from './types';

/** Work done over work to do: one answer per row (with a model) and one observation per row and metric. */
export function progressOf(e: Experiment): number {
  const todo = (e.model ? e.num_total : 0) + e.num_total * e.num_metrics;
  const done = (e.model ? e.num_try : 0) + e.num_observation_try;
  return todo === 0 ? 1 : Math.min(1, done / todo);
}

/** Failed answers and observations over those attempted. */
export function failuresOf(e: Experiment): { failed: number; tried: number } {
  return { failed: e.num_try - e.num_success + (e.num_observation_try - e.num_observation_success), tried: e.num_try + e.num_observation_try };
}

export function setTotals(experiments: Experiment[]) {
  let failed = 0;
  let tried = 0;
  let progress = 0;
  for (const e of experiments) {
    const f = failuresOf(e);
    failed += f.failed;
    tried += f.tried;
    progress += progressOf(e);
  }
  return { progress: experiments.length ? progress / experiments.length : 1, failureRate: tried ? failed / tried : 0, failed, tried };
}

export const isRunning = (status: string) => status === 'pending' || status === 'running' || status === 'running_answers' || status === 'running_metrics';

export const resultOf = (e: Experiment, metric: string): Result | undefined => e.results?.find((r) => r.metric_aliased_name === metric);

/** The metrics of a set, in the order first met. */
export const metricsOf = (experiments: Experiment[]): Result[] => {
  const seen = new Map<string, Result>();
  for (const e of experiments) for (const r of e.results ?? []) if (!seen.has(r.metric_aliased_name)) seen.set(r.metric_aliased_name, r);
  return [...seen.values()];
};

export interface Cell {
  mean: number | null;
  /** Interval shown with the mean: the 95% CI of one run, or ± the std of the runs' means for repeats. */
  low: number | null;
  high: number | null;
  /** Std of the runs' means (repeats only). */
  std: number | null;
  runs: number;
  support: number;
  total: number;
}

/** One variant's figure for a metric: the run's mean and CI, or the mean ± std of its repeats' means. */
export function cellOf(experiments: Experiment[], metric: string): Cell | undefined {
  const results = experiments.map((e) => ({ e, r: resultOf(e, metric) })).filter((x) => x.r) as { e: Experiment; r: Result }[];
  if (results.length === 0) return undefined;
  const support = results.reduce((s, x) => s + x.r.summary.support, 0);
  const total = results.reduce((s, x) => s + x.e.num_total, 0);
  if (results.length === 1) {
    const s = results[0].r.summary;
    return { mean: s.mean, low: s.ci95?.[0] ?? null, high: s.ci95?.[1] ?? null, std: null, runs: 1, support, total };
  }
  const means = results.map((x) => x.r.summary.mean).filter((m): m is number => m !== null);
  if (means.length === 0) return { mean: null, low: null, high: null, std: null, runs: results.length, support, total };
  const mean = means.reduce((a, b) => a + b, 0) / means.length;
  const std = means.length > 1 ? Math.sqrt(means.reduce((a, m) => a + (m - mean) ** 2, 0) / (means.length - 1)) : 0;
  return { mean, low: mean - std, high: mean + std, std, runs: results.length, support, total };
}

/** The index of the best mean (by the metric's direction), or -1. */
export function bestIndex(means: (number | null | undefined)[], higherIsBetter = true): number {
  let best = -1;
  means.forEach((m, i) => {
    if (m === null || m === undefined) return;
    if (best < 0 || (higherIsBetter ? m > means[best]! : m < means[best]!)) best = i;
  });
  return best;
}

export const metricInfo = (metrics: MetricInfo[] | undefined, name: string) => metrics?.find((m) => m.name === name);
