/**
 * `evalap leaderboard [--metric M] [--dataset D]`: experiments ranked by a
 * metric. Without --metric, one ranking per metric in use: scores of
 * different metrics are on different scales and are never ranked together.
 * Each entry ends with what its experiment cost (answers and judge calls).
 */
import { usd } from '../core/cost/units.js';
import type { ApiClient } from './client.js';

/** Entries shown per metric when every metric is listed; --metric shows them all. */
const PER_METRIC = 10;

const entryLine = (i: number, e: any) =>
  `${String(i + 1).padStart(3)}. ${e.model_name}  ${e.metric_name}  ${e.summary.mean?.toFixed(4) ?? '—'} ± ${e.summary.std?.toFixed(4) ?? '—'} (n=${e.summary.support})  ${e.experiment_name} on ${e.dataset_name}  cost ${usd(e.cost?.total)}\n`;

/** The metrics (aliased names) experiments have scores for, on `dataset` if given, sorted. */
async function metricsInUse(api: ApiClient, dataset: string | undefined): Promise<string[]> {
  const names = new Set<string>();
  for await (const page of api.pages('/v1/experiments?limit=1000')) {
    for (const e of page) {
      if (dataset !== undefined && e.dataset?.name !== dataset) continue;
      for (const r of e.results ?? []) if (r.num_try > 0) names.add(r.metric_aliased_name);
    }
  }
  return [...names].sort();
}

export async function leaderboard(api: ApiClient, o: { metric?: string; dataset?: string }, out: { write(s: string): unknown }): Promise<void> {
  const query = (metric: string, limit?: number) => {
    const q = new URLSearchParams({ metric_name: metric });
    if (o.dataset) q.set('dataset_name', o.dataset);
    if (limit) q.set('limit', String(limit));
    return `/v1/leaderboard?${q}`;
  };
  if (o.metric) {
    const { entries } = await api.get(query(o.metric));
    entries.forEach((e: any, i: number) => out.write(entryLine(i, e)));
    if (!entries.length) out.write(`no experiment has scores for ${o.metric}${o.dataset ? ` on ${o.dataset}` : ''}\n`);
    return;
  }
  const metrics = await metricsInUse(api, o.dataset);
  if (!metrics.length) out.write(`no experiment has scores yet${o.dataset ? ` on ${o.dataset}` : ''}\n`);
  for (const [k, metric] of metrics.entries()) {
    const { entries } = await api.get(query(metric, PER_METRIC + 1));
    out.write(`${k ? '\n' : ''}${metric}\n`);
    entries.slice(0, PER_METRIC).forEach((e: any, i: number) => out.write(entryLine(i, e)));
    if (entries.length > PER_METRIC) out.write(`     … more with evalap leaderboard --metric ${metric}\n`);
  }
}
