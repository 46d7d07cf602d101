import { z } from 'zod';
import * as experiments from '../../core/experiments.js';
import { failuresOf } from '../../core/experiment-failures.js';
import { listExperimentRows } from '../../core/experiment-rows.js';
import { Experiment, ExperimentCreate, ExperimentFailures, ExperimentGetQuery, ExperimentListQuery, ExperimentRowsPage, ExperimentRowsQuery, ExperimentWithResults, ExperimentPatch, IdParam, RetryQuery } from '../../core/schemas.js';
import { pageHeaders, type Route } from './http.js';

export const experimentRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/experiment',
    summary: 'Create and launch an experiment; returns at once with status pending',
    body: ExperimentCreate,
    response: Experiment,
    run: async ({ core, body }) => ({ body: await experiments.createExperiment(core, body) }),
  },
  {
    method: 'GET',
    path: '/v1/experiments',
    summary: 'List experiments by id, each with its dataset and results; the next page\'s cursor is in the X-Next-Cursor and Link headers. With skip or backward, pages as Evalap does (newest first, orphans unless set_id)',
    query: ExperimentListQuery,
    response: z.array(ExperimentWithResults),
    async run({ core, query }) {
      const page = await experiments.listExperiments(core, query);
      return { body: page.items, headers: pageHeaders('/v1/experiments', { ...query, cursor: undefined }, page.next_cursor) };
    },
  },
  {
    method: 'GET',
    path: '/v1/experiment/{id}',
    summary: 'Get an experiment with its status, counters and per-metric aggregates',
    params: IdParam,
    query: ExperimentGetQuery,
    response: Experiment,
    tooLarge: 'read the answers and observations page by page with GET /v1/experiment/{id}/rows (and the dataset with GET /v1/dataset/{id}/rows)',
    run: async ({ core, params, query }) => ({ body: await experiments.getExperiment(core, params.id, query) }),
  },
  {
    method: 'GET',
    path: '/v1/experiment/{id}/rows',
    summary: 'One page of the experiment\'s rows: each dataset row with its answer and every metric\'s observation; filter to failed rows, a score range or a text, sort by a metric',
    params: IdParam,
    query: ExperimentRowsQuery,
    response: ExperimentRowsPage,
    run: async ({ core, params, query }) => ({ body: await listExperimentRows(core, params.id, query) }),
  },
  {
    method: 'GET',
    path: '/v1/experiment/{id}/failures',
    summary: 'Why rows failed: failed answers and each metric\'s failed observations, grouped by message with counts and one example each',
    params: IdParam,
    response: ExperimentFailures,
    run: async ({ core, params }) => ({ body: await failuresOf(core, params.id) }),
  },
  {
    method: 'PATCH',
    path: '/v1/experiment/{id}',
    summary: 'Rename, add metrics (computed on the stored answers), or rerun the answers',
    params: IdParam,
    body: ExperimentPatch,
    response: Experiment,
    run: async ({ core, params, body }) => ({ body: await experiments.patchExperiment(core, params.id, body) }),
  },
  {
    method: 'POST',
    path: '/v1/stop/experiment/{id}',
    summary: 'Cancel an experiment (in a set or not): unfinished, it becomes stopped and its queued tasks are dropped; finished, it stays finished',
    params: IdParam,
    response: Experiment,
    run: async ({ core, params }) => ({ body: await experiments.stopExperiment(core, params.id) }),
  },
  {
    method: 'POST',
    path: '/v1/retry/experiment/{id}',
    summary: 'Re-enqueue the failed and missing answers and observations of a finished or stopped experiment (in a set or not); a stopped one resumes; force=true also retries a running one',
    params: IdParam,
    query: RetryQuery,
    response: Experiment,
    run: async ({ core, params, query }) => ({ body: await experiments.retryExperiment(core, params.id, query.force) }),
  },
  {
    method: 'DELETE',
    path: '/v1/experiment/{id}',
    summary: 'Delete an experiment with its answers and results (admin)',
    params: IdParam,
    async run({ core, params }) {
      await experiments.deleteExperiment(core, params.id);
      return { body: { id: params.id, deleted: true } };
    },
  },
];
