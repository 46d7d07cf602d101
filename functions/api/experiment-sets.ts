import { z } from 'zod';
import * as sets from '../../core/experiment-sets.js';
import { ExperimentSet, ExperimentSetCreate, ExperimentSetGetQuery, ExperimentSetListQuery, ExperimentSetPatch, IdParam, RetryQuery, RetryRuns } from '../../core/schemas.js';
import { pageHeaders, type Route } from './http.js';

export const experimentSetRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/experiment_set',
    summary: 'Create and launch an experiment set from explicit experiments or a cv grid',
    body: ExperimentSetCreate,
    response: ExperimentSet,
    run: async ({ core, body }) => ({ body: await sets.createExperimentSet(core, body) }),
  },
  {
    method: 'GET',
    path: '/v1/experiment_sets',
    summary: 'List experiment sets; the next page\'s cursor is in the X-Next-Cursor and Link headers. With skip or backward, pages as Evalap does (newest first)',
    query: ExperimentSetListQuery,
    response: z.array(ExperimentSet),
    async run({ core, query }) {
      const page = await sets.listExperimentSets(core, query);
      return { body: page.items, headers: pageHeaders('/v1/experiment_sets', { ...query, cursor: undefined }, page.next_cursor) };
    },
  },
  {
    method: 'GET',
    path: '/v1/experiment_set/{id}',
    summary: 'Get an experiment set with each experiment\'s status and counters; with_eco=true adds its energy and carbon totals and its cost',
    params: IdParam,
    query: ExperimentSetGetQuery,
    response: ExperimentSet,
    run: async ({ core, params, query }) => ({ body: await sets.getExperimentSet(core, params.id, { withEco: query.with_eco }) }),
  },
  {
    method: 'PATCH',
    path: '/v1/experiment_set/{id}',
    summary: 'Rename an experiment set or add experiments (explicit or a cv grid) to it',
    params: IdParam,
    body: ExperimentSetPatch,
    response: ExperimentSet,
    run: async ({ core, params, body }) => ({ body: await sets.patchExperimentSet(core, params.id, body) }),
  },
  {
    method: 'DELETE',
    path: '/v1/experiment_set/{id}',
    summary: 'Delete an experiment set and its experiments (admin)',
    params: IdParam,
    async run({ core, params }) {
      await sets.deleteExperimentSet(core, params.id);
      return { body: { id: params.id, deleted: true } };
    },
  },
  {
    method: 'POST',
    path: '/v1/stop/experiment_set/{id}',
    summary: 'Cancel a set: unfinished experiments become stopped and their queued tasks are dropped',
    params: IdParam,
    response: ExperimentSet,
    run: async ({ core, params }) => ({ body: await sets.stopExperimentSet(core, params.id) }),
  },
  {
    method: 'POST',
    path: '/v1/retry/experiment_set/{id}',
    summary: 'Re-enqueue the failed and missing answers and observations of a set\'s finished or stopped experiments; force=true also retries those still running',
    params: IdParam,
    query: RetryQuery,
    response: RetryRuns,
    run: async ({ core, params, query }) => ({ body: await sets.retryExperimentSet(core, params.id, query.force) }),
  },
];
