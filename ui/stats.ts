/** The figures the set views show, computed from the experiments the API returns. */
import { summarize } from '../core/stats';
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
  /** The 95% CI of the mean: of the run, or of every row of the repeats pooled (within the metric's range, as the API's). */
  low: number | null;
  high: number | null;
  /** Std of the runs' means (repeats only). */
  std: number | null;
  runs: number;
  support: number;
  total: number;
}

/**
 * One variant's figure for a metric: the run's mean and CI; for repeats, the
 * mean and CI of their rows pooled (the runs' aggregates rebuilt from each
 * summary: sum = n·mean, sum of squares = (n-1)·std² + n·mean²), and the std
 * of the runs' means, which says how much a rerun moves the score.
 */
export function cellOf(experiments: Experiment[], metric: string, range?: readonly [number | null, number | null]): Cell | undefined {
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
  const runMean = means.reduce((a, b) => a + b, 0) / means.length;
  const std = means.length > 1 ? Math.sqrt(means.reduce((a, m) => a + (m - runMean) ** 2, 0) / (means.length - 1)) : 0;
  const scored = results.map((x) => x.r.summary).filter((x) => x.support > 0 && x.mean !== null);
  const pooled = summarize(
    {
      count: scored.reduce((a, x) => a + x.support, 0),
      sum: scored.reduce((a, x) => a + x.support * x.mean!, 0),
      sumsq: scored.reduce((a, x) => a + (x.support - 1) * (x.std ?? 0) ** 2 + x.support * x.mean! ** 2, 0),
      min: Math.min(...scored.map((x) => x.min ?? Infinity)),
      max: Math.max(...scored.map((x) => x.max ?? -Infinity)),
    },
    range ? [range[0] ?? -Infinity, range[1] ?? Infinity] : undefined,
  );
  return { mean: pooled.mean, low: pooled.ci95?.[0] ?? null, high: pooled.ci95?.[1] ?? null, std, runs: results.length, support, total };
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
