/** Evalap's ops routes, which its UI's ops page reads. */
import { OpsEco, OpsMetrics } from '../../core/schemas.js';
import { opsCounts } from '../../core/store/ops.js';
import type { Route } from './http.js';

/** What Evalap answers when nothing carries an emission figure. */
const noEmissions = () => ({ total_emissions: {}, total_entries_with_emissions: 0, first_emission_date: null });

export const opsRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v1/ops_metrics',
    summary: 'Counts of experiment sets, experiments, answers, results, observations and datasets, and the models used',
    response: OpsMetrics,
    run: async ({ core }) => ({ body: await opsCounts(core.db) }),
  },
  {
    method: 'GET',
    path: '/v1/ops_eco',
    summary: 'Energy and carbon totals of answers and observations, as in Evalap; empty: no emission is measured yet',
    response: OpsEco,
    run: async () => ({ body: { answers: noEmissions(), observation_table: noEmissions() } }),
  },
];
