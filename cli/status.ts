/**
 * `evalap status`: an experiment's status and counters, or a whole set's
 * (what `evalap run` launches and prints), its experiments labelled by what
 * tells them apart.
 */
import { variantLabels } from '../core/variant-labels.js';
import type { ApiClient } from './client.js';

const counters = (e: any) => `${e.experiment_status}, answers ${e.num_success}/${e.num_try} of ${e.num_total}, observations ${e.num_observation_success}/${e.num_observation_try}`;

export async function experimentStatus(api: ApiClient, id: string, out: { write(s: string): unknown }): Promise<void> {
  const e = await api.get(`/v1/experiment/${id}`);
  out.write(`${e.name}: ${counters(e)}\n`);
}

export async function setStatus(api: ApiClient, id: string, out: { write(s: string): unknown }): Promise<void> {
  const set = await api.get(`/v1/experiment_set/${id}`);
  out.write(`experiment set ${set.id} (${set.name}): ${set.status}, ${set.experiments.length} experiment(s)\n`);
  const labels = variantLabels(set.experiments);
  set.experiments.forEach((e: any, i: number) => out.write(`  ${labels[i]} (experiment ${e.id}): ${counters(e)}\n`));
}
