/**
 * Scheduled evaluation jobs. Each tick launches a new experiment set from the
 * schedule's template, unless the previous run is still going (then the tick
 * is recorded as skipped: runs never pile up). When a run has finished, it
 * is compared with the previous run of the same schedule.
 */
import { z } from 'zod';
import type { Core } from './context.js';
import { compareSets } from './compare.js';
import { parseCron, nextFire } from './cron.js';
import { CoreError, ValidationError } from './errors.js';
import { launchExperimentSet, setStatus } from './experiment-sets.js';
import { ExperimentSetCreate } from './schemas.js';
import { hideApiKeys, openApiKeys, sealApiKeys } from './secrets.js';
import * as store from './store/schedules.js';

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
export async function createSchedule(core: Core, body: z.infer<typeof ScheduleCreate>) {
  parseCron(body.cron, body.timezone);
  checkTemplate(body.template);
  const id = await core.db.transaction(async (db) => {
    const s = await store.insertSchedule(db, { ...body, template: await sealApiKeys(body.template, core.secrets) });
    await core.scheduler.put(s, true);
    return s.id;
  });
  return getSchedule(core, id);
}

export async function patchSchedule(core: Core, id: number, patch: z.infer<typeof SchedulePatch>) {
  await core.db.transaction(async (db) => {
    const current = await store.getSchedule(db, id, true);
    parseCron(patch.cron ?? current.cron, patch.timezone ?? current.timezone);
    if (patch.template) checkTemplate(patch.template);
    const sealed = patch.template ? { ...patch, template: (await sealApiKeys(patch.template, core.secrets)) as Record<string, unknown> } : patch;
    await core.scheduler.put(await store.updateSchedule(db, id, sealed), false);
  });
  return getSchedule(core, id);
}

export const listSchedules = async (core: Core) => Promise.all((await store.listSchedules(core.db)).map((s) => withNext(s)));
export const deleteSchedule = (core: Core, id: number) =>
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
export async function getSchedule(core: Core, id: number) {
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

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/** A launch refused by the core (an invalid template, a missing dataset): the run is recorded as failed. */
class LaunchFailed extends Error {
  override name = 'LaunchFailed';
}

/**
 * One tick of a schedule at `at`: launches a run, or records why not. The
 * whole decision and the launch happen in one transaction holding the
 * schedule's row lock, and the run is recorded under the (schedule, tick)
 * unique key before it commits: concurrent deliveries of one tick wait for
 * each other, and all but the first find the tick recorded and report it
 * `skipped` (no check-then-act window, so one run per tick).
 */
type TickOutcome = { status: 'launched' | 'skipped' | 'failed'; reason?: string; experiment_set_id?: number };

export async function tick(core: Core, id: number, at: Date): Promise<TickOutcome> {
  const duplicate: TickOutcome = { status: 'skipped', reason: 'this tick was already handled' };
  let reason: string;
  try {
    return await core.db.transaction(async (db): Promise<TickOutcome> => {
      const s = await store.getSchedule(db, id, true);
      const runs = await store.listRuns(db, id);
      if (runs.some((r) => r.tick_at === at.toISOString())) return duplicate;
      const skip = async (why: string): Promise<TickOutcome> => {
        await store.insertRun(db, id, at, { status: 'skipped', reason: why });
        core.logger.info('schedule_tick_skipped', { schedule_id: id, reason: why });
        return { status: 'skipped', reason: why };
      };
      if (s.paused) return skip('the schedule is paused');
      const last = [...runs].reverse().find((r) => r.status === 'launched' && r.experiment_set_id !== null);
      if (last && !['finished', 'stopped'].includes(setStatus(await store.setStatuses(db, last.experiment_set_id!)))) {
        return skip(`the previous run (experiment set ${last.experiment_set_id}) is still going`);
      }
      const template = (await openApiKeys(s.template, core.secrets)) as Record<string, unknown>;
      const body = ExperimentSetCreate.safeParse({ readme: '', ...template, name: `${s.name}-${stamp(at)}` });
      // A template that no longer validates (or names a deleted dataset) fails this run, recorded below.
      if (!body.success) throw new LaunchFailed(`the template is not a valid experiment set: ${body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      try {
        const setId = await launchExperimentSet(core, body.data, db);
        const runId = await store.insertRun(db, id, at, { status: 'launched', experiment_set_id: setId });
        core.logger.info('schedule_tick_launched', { schedule_id: id, experiment_set_id: setId, run_id: runId });
        return { status: 'launched', experiment_set_id: setId };
      } catch (err) {
        // Rolls the launch back; the failure is recorded after, in a statement of its own.
        // With its field issues: "invalid experiment" alone would not say which judge or dataset is wrong.
        if (!(err instanceof CoreError)) throw err;
        const issues = err.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
        throw new LaunchFailed(issues.length ? `${err.message}: ${issues.join('; ')}` : err.message);
      }
    });
  } catch (err) {
    if (!(err instanceof LaunchFailed)) throw err;
    reason = err.message;
  }
  const runId = await store.insertRun(core.db, id, at, { status: 'failed', reason });
  if (runId === undefined) return duplicate;
  core.logger.error('schedule_tick_failed', { schedule_id: id, error: reason });
  return { status: 'failed', reason };
}

/** Ticks due between each schedule's last tick (or `since`) and `now`; the local stack's cron calls this every minute. */
export async function dueTicks(core: Core, now: number, since: number): Promise<{ id: number; at: Date }[]> {
  const due: { id: number; at: Date }[] = [];
  for (const s of await store.listSchedules(core.db)) {
    if (s.paused) continue;
    const from = Math.max(since, s.last_tick_at ? Date.parse(s.last_tick_at) : since);
    const next = nextFire(parseCron(s.cron, s.timezone), from);
    if (next !== null && next <= now) due.push({ id: s.id, at: new Date(next) });
  }
  return due;
}
