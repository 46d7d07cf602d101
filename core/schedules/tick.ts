/**
 * A schedule's ticks. Each launches a new experiment set from the schedule's
 * template, unless the previous run is still going (then the tick is recorded
 * as skipped: runs never pile up). EventBridge Scheduler invokes the schedule
 * Lambda per tick in AWS; locally an in-process cron asks `dueTicks`.
 */
import type { CoreContext } from '../context.js';
import { CoreError } from '../errors.js';
import { launchExperimentSet, setStatus } from '../experiment-sets.js';
import { ExperimentSetCreate } from '../schemas.js';
import { openApiKeys } from '../secrets.js';
import * as store from '../store/schedules.js';
import { nextFire, parseCron } from './cron.js';

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

export async function tick(core: CoreContext, id: number, at: Date): Promise<TickOutcome> {
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
export async function dueTicks(core: CoreContext, now: number, since: number): Promise<{ id: number; at: Date }[]> {
  const due: { id: number; at: Date }[] = [];
  for (const s of await store.listSchedules(core.db)) {
    if (s.paused) continue;
    const from = Math.max(since, s.last_tick_at ? Date.parse(s.last_tick_at) : since);
    const next = nextFire(parseCron(s.cron, s.timezone), from);
    if (next !== null && next <= now) due.push({ id: s.id, at: new Date(next) });
  }
  return due;
}
