/**
 * Scheduled evaluation jobs: what a schedule is (a cron expression in a time
 * zone and the experiment-set template each tick launches) and its API
 * operations. A schedule is registered with where it fires (eventbridge.ts)
 * in the transaction that writes it; its ticks are tick.ts. When a run has
 * finished, it is compared with the previous run of the same schedule.
 */
import { z } from 'zod';
import type { CoreContext } from '../context.js';
import { compareSets } from '../compare.js';
import { ValidationError } from '../errors.js';
import { setStatus } from '../experiment-sets.js';
import { ExperimentSetCreate } from '../schemas.js';
import { hideApiKeys, sealApiKeys } from '../secrets.js';
import * as store from '../store/schedules.js';
import { nextFire, parseCron } from './cron.js';

export const ScheduleCreate = z
  .object({
    name: z.string().trim().min(1).max(200),
    cron: z.string().min(9).max(200).describe('Five-field cron expression: minute hour day-of-month month day-of-week'),
    timezone: z.string().min(1).max(100).default('UTC').describe('IANA time zone the cron expression is read in'),
    template: z.record(z.string(), z.unknown()).describe('The experiment-set body each run launches (its name is set per run)'),
  })
  .strict()
  .meta({ id: 'ScheduleCreate' });

export const SchedulePatch = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    cron: z.string().min(9).max(200).optional(),
    timezone: z.string().min(1).max(100).optional(),
    template: z.record(z.string(), z.unknown()).optional(),
    paused: z.boolean().optional().describe('Pause (true) or resume (false) the schedule'),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'give at least one field to change' })
  .meta({ id: 'SchedulePatch' });

/** Checks a template as the set body it will become, so a bad template fails at creation, not at 3 a.m. */
function checkTemplate(template: Record<string, unknown>): void {
  const parsed = ExperimentSetCreate.safeParse({ readme: '', ...template, name: 'template-check' });
  if (!parsed.success) {
    throw new ValidationError('invalid template', parsed.error.issues.map((i) => ({ path: ['template', ...i.path.map(String)].join('.'), message: i.message })));
  }
  // A set may start empty and be filled later; a scheduled one would only ever launch nothing.
  if (!parsed.data.experiments?.length && !parsed.data.cv) {
    throw new ValidationError('invalid template', [{ path: 'template.experiments', message: 'a schedule\'s template must have experiments or a cv grid: each run would launch nothing' }]);
  }
}

// Registration with the scheduler happens inside the transaction: if it
// fails, the schedule is not written.
export async function createSchedule(core: CoreContext, body: z.infer<typeof ScheduleCreate>) {
  parseCron(body.cron, body.timezone);
  checkTemplate(body.template);
  const id = await core.db.transaction(async (db) => {
    const s = await store.insertSchedule(db, { ...body, template: await sealApiKeys(body.template, core.secrets) });
    await core.scheduler.put(s, true);
    return s.id;
  });
  return getSchedule(core, id);
}

export async function patchSchedule(core: CoreContext, id: number, patch: z.infer<typeof SchedulePatch>) {
  await core.db.transaction(async (db) => {
    const current = await store.getSchedule(db, id, true);
    parseCron(patch.cron ?? current.cron, patch.timezone ?? current.timezone);
    if (patch.template) checkTemplate(patch.template);
    const sealed = patch.template ? { ...patch, template: (await sealApiKeys(patch.template, core.secrets)) as Record<string, unknown> } : patch;
    await core.scheduler.put(await store.updateSchedule(db, id, sealed), false);
  });
  return getSchedule(core, id);
}

export const listSchedules = async (core: CoreContext) => Promise.all((await store.listSchedules(core.db)).map((s) => withNext(s)));
export const deleteSchedule = (core: CoreContext, id: number) =>
  core.db.transaction(async (db) => {
    await store.deleteSchedule(db, id);
    await core.scheduler.remove(id);
  });

/** A schedule as the API shows it: its next firing, and its template without keys. */
function withNext(s: store.ScheduleRecord, now = Date.now()) {
  const next = s.paused ? null : nextFire(parseCron(s.cron, s.timezone), now);
  return { ...s, template: hideApiKeys(s.template), next_fire_at: next === null ? null : new Date(next).toISOString() };
}

/** A schedule with its runs; comparisons of newly finished runs are computed and stored on the way. */
export async function getSchedule(core: CoreContext, id: number) {
  const s = await store.getSchedule(core.db, id);
  const runs = await store.listRuns(core.db, id);
  let previous: store.RunRecord | undefined;
  for (const run of runs) {
    if (run.status !== 'launched' || run.experiment_set_id === null) continue;
    const finished = setStatus(await store.setStatuses(core.db, run.experiment_set_id)) === 'finished';
    if (finished && run.comparison === null && previous?.experiment_set_id != null) {
      run.comparison = { previous_run: previous.id, previous_set: previous.experiment_set_id, metrics: await compareSets(core.db, previous.experiment_set_id, run.experiment_set_id) };
      await store.setComparison(core.db, run.id, run.comparison);
    }
    if (finished) previous = run;
  }
  return { ...withNext(s), runs };
}
