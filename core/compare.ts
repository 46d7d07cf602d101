/**
 * Run-to-run comparison: for each model (experiments matched by position in
 * their sets, which a schedule's template keeps stable) and metric, the
 * difference of means over the rows both runs scored, with the 95%
 * confidence interval of a paired t-test, kept within what the metric's
 * range allows. A regression is an interval that
 * lies entirely on the worse side of zero.
 */
import type { Db } from './store/db.js';
import { getMetric } from './metrics/registry.js';
import { pairedDifference } from './stats.js';
import { getSet } from './store/experiment-sets.js';
import { pairedScores, setResults } from './store/compare.js';

export interface MetricComparison {
  experiment_a: number;
  experiment_b: number;
  model: string;
  metric: string;
  /** Rows both runs scored. */
  n: number;
  mean_a: number | null;
  mean_b: number | null;
  /** mean(b - a) over the paired rows. */
  difference: number | null;
  ci95: [number, number] | null;
  regression: boolean;
}

/** Compares set B with set A; unknown sets are a NotFoundError. */
export async function compareSets(db: Db, setA: number, setB: number): Promise<MetricComparison[]> {
  await Promise.all([getSet(db, setA), getSet(db, setB)]);
  const [a, b] = await Promise.all([setResults(db, setA), setResults(db, setB)]);
  const out: MetricComparison[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    for (const ra of a[i].results) {
      const rb = b[i].results.find((r) => r.metric === ra.metric);
      if (!rb) continue;
      const pairs = await pairedScores(db, ra.id, rb.id);
      const metric = getMetric(ra.metric_name);
      const diff = pairedDifference(pairs.a, pairs.b, metric?.range);
      const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
      const lowerIsBetter = metric?.higherIsBetter === false;
      const regression = diff.ci95 !== null && (lowerIsBetter ? diff.ci95[0] > 0 : diff.ci95[1] < 0);
      out.push({ experiment_a: a[i].id, experiment_b: b[i].id, model: b[i].model, metric: ra.metric, n: diff.n, mean_a: mean(pairs.a), mean_b: mean(pairs.b), difference: diff.mean, ci95: diff.ci95, regression });
    }
  }
  return out;
}
