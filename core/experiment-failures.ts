/**
 * Why an experiment's rows failed: its failed answers and each metric's
 * failed observations, grouped into kinds with counts and one example each.
 * What the CLI prints at the end of a run, so a run where every row failed
 * says why instead of only "finished".
 */
import type { CoreContext } from './context.js';
import * as store from './store/experiments.js';
import { experimentFailures, type FailureGroup } from './store/failures.js';

const NONE: FailureGroup = { failed: 0, kinds: [], other_rows: 0 };

export async function failuresOf(core: CoreContext, id: number) {
  const row = await store.getExperimentRow(core.db, id);
  const [results, failures] = await Promise.all([store.listResults(core.db, id, false), experimentFailures(core.db, id)]);
  return {
    experiment_id: id,
    num_total: row.num_total,
    answers: failures.answers,
    metrics: results.map((r) => ({ metric: r.metric_aliased_name, ...(failures.results.get(r.id) ?? NONE) })),
  };
}
