/**
 * `evalap compare <set-a> <set-b>`: per experiment (matched by position, as
 * the API pairs them) and metric, the difference of means with its 95% CI.
 * Scores are paired row by row, so sets run on different datasets cannot be
 * compared: that is refused, naming the datasets.
 */
import { variantLabels } from '../core/variant-labels.js';
import type { ApiClient } from './client.js';
import { CliError, ExitCode } from './errors.js';

const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;

export async function compare(api: ApiClient, setA: string, setB: string, out: { write(s: string): unknown }): Promise<number> {
  const [a, b] = await Promise.all([api.get(`/v1/experiment_set/${setA}`), api.get(`/v1/experiment_set/${setB}`)]);
  const [ea, eb] = [a.experiments.sort(byId), b.experiments.sort(byId)];
  const mismatched = ea.slice(0, eb.length).flatMap((e: any, i: number) => (e.dataset?.name === eb[i].dataset?.name ? [] : [`${e.name} is on dataset ${e.dataset?.name}, ${eb[i].name} on ${eb[i].dataset?.name}`]));
  if (mismatched.length) {
    throw new CliError(`sets ${setA} and ${setB} ran on different datasets (${mismatched.join('; ')}): scores are paired row by row, so only runs on the same dataset compare`, ExitCode.usage);
  }
  const labels = new Map<number, string>(variantLabels(eb).map((l, i) => [eb[i].id, l]));
  const { metrics } = await api.get(`/v1/compare?set_a=${setA}&set_b=${setB}`);
  const f = (v: number | null) => (v === null ? '—' : v.toFixed(4));
  for (const m of metrics) {
    out.write(`${labels.get(m.experiment_b) ?? m.model}  ${m.metric}  ${f(m.mean_a)} → ${f(m.mean_b)}  diff ${f(m.difference)}  95% CI ${m.ci95 ? `[${f(m.ci95[0])}, ${f(m.ci95[1])}]` : '—'}  n=${m.n}${m.regression ? '  REGRESSION' : ''}\n`);
  }
  if (ea.length !== eb.length) out.write(`(set ${setA} has ${ea.length} experiment(s), set ${setB} ${eb.length}: only the first ${Math.min(ea.length, eb.length)} are compared)\n`);
  return metrics.some((m: { regression: boolean }) => m.regression) ? ExitCode.gateFailed : ExitCode.ok;
}
