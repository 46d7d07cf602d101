/**
 * `evalap status`: an experiment's status and counters, or a whole set's
 * (what `evalap run` launches and prints), its experiments labelled by what
 * tells them apart.
 */
import { STOPPED_BY_REQUEST } from '../core/cost/budget.js';
import { variantLabels } from '../core/variant-labels.js';
import type { ApiClient } from './client.js';

/** An experiment's status, a stop with its reason ("stopped: max_cost of 0.5 USD reached: …") unless it was simply asked for. */
export const statusText = (e: { experiment_status: string; stop_reason?: string | null }): string =>
  e.experiment_status === 'stopped' && e.stop_reason && e.stop_reason !== STOPPED_BY_REQUEST ? `stopped: ${e.stop_reason}` : e.experiment_status;

const counters = (e: any) => `${statusText(e)}, answers ${e.num_success}/${e.num_try} of ${e.num_total}, observations ${e.num_observation_success}/${e.num_observation_try}`;

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
