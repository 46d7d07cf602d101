/** Evalap's ops routes, which its UI's ops page reads. */
import { OpsEco, OpsMetrics } from '../../core/schemas.js';
import { ecoReport, opsCounts } from '../../core/store/ops.js';
import type { Route } from './http.js';

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
    summary: 'Energy (kWh) and carbon (kgCO2eq) totals of every generated answer and judge observation, as in Evalap, with everyday equivalents',
    response: OpsEco,
    run: async ({ core }) => ({ body: await ecoReport(core.db) }),
  },
];
