import { z } from 'zod';
import { compareSets } from '../../core/compare.js';
import * as schedules from '../../core/schedules/definitions.js';
import { IdParam, idParam } from '../../core/schemas.js';
import type { Route } from './http.js';

const CompareQuery = z
  .object({
    set_a: idParam,
    set_b: idParam,
  })
  .strict();

export const scheduleRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/schedule',
    summary: 'Create a scheduled evaluation: a cron expression (with time zone) and the experiment-set template each tick launches',
    body: schedules.ScheduleCreate,
    run: async ({ core, body }) => ({ body: await schedules.createSchedule(core, body) }),
  },
  {
    method: 'GET',
    path: '/v1/schedules',
    summary: 'List schedules with their next firing time',
    run: async ({ core }) => ({ body: await schedules.listSchedules(core) }),
  },
  {
    method: 'GET',
    path: '/v1/schedule/{id}',
    summary: 'A schedule with its past runs (launched or skipped) and each run\'s comparison with the previous one',
    params: IdParam,
    run: async ({ core, params }) => ({ body: await schedules.getSchedule(core, params.id) }),
  },
  {
    method: 'PATCH',
    path: '/v1/schedule/{id}',
    summary: 'Pause, resume or change a schedule',
    params: IdParam,
    body: schedules.SchedulePatch,
    run: async ({ core, params, body }) => ({ body: await schedules.patchSchedule(core, params.id, body) }),
  },
  {
    method: 'DELETE',
    path: '/v1/schedule/{id}',
    summary: 'Delete a schedule and its run history (admin); the sets it launched stay',
    params: IdParam,
    async run({ core, params }) {
      await schedules.deleteSchedule(core, params.id);
      return { body: { id: params.id, deleted: true } };
    },
  },
  {
    method: 'GET',
    path: '/v1/compare',
    summary: 'Compare two experiment sets: per model and metric, the paired difference of means (b - a) with its 95% CI',
    query: CompareQuery,
    async run({ core, query }) {
      return { body: { set_a: query.set_a, set_b: query.set_b, metrics: await compareSets(core.db, query.set_a, query.set_b) } };
    },
  },
];
