/** Experiment-set operations: create (explicit or grid), add, stop, retry. */
import type { Db } from './store/db.js';
import type { CoreContext } from './context.js';
import { ValidationError, type FieldIssue } from './errors.js';
import { prepareExperiment, retryExperiments, stopExperiments, withLaunch, nextCursor, paging, type ExperimentScope, type InlineDatasets, type ListQuery } from './experiments.js';
import { expandGrid, gridSize, MAX_GRID } from './grid.js';
import type { TaskInput } from './queue.js';
import { SetExperiment, type ExperimentSetCreate, type ExperimentSetPatch, type GridCV } from './schemas.js';
import { hideApiKeys, sealApiKeys } from './secrets.js';
import { capChanges, capsOf, checkCappable } from './budgets.js';
import { sumSpent } from './cost/budget.js';
import { experimentCost, sumCosts } from './cost/cost.js';
import { ecoReport } from './store/ops.js';
import * as store from './store/experiment-sets.js';
import * as experiments from './store/experiments.js';

type SetBody = { experiments?: SetExperiment[]; cv?: GridCV };

/** The set's experiment bodies, validated, with their JSON paths for errors. */
function experimentBodies(body: SetBody, setName: string, offset: number): { body: SetExperiment; path: string }[] {
  const out: { body: SetExperiment; path: string }[] = (body.experiments ?? []).map((e, i) => ({ body: e, path: `experiments.${i}` }));
  if (body.cv) {
    const size = gridSize(body.cv);
    if (size > MAX_GRID) throw new ValidationError('grid too large', [{ path: 'cv', message: `the grid expands to ${size} experiments; at most ${MAX_GRID} per request` }]);
    const issues: FieldIssue[] = [];
    const first = offset + out.length;
    expandGrid(body.cv).forEach((raw, i) => {
      const named = { ...raw, name: `${setName}__${first + i}` };
      const parsed = SetExperiment.safeParse(named);
      if (parsed.success) out.push({ body: parsed.data, path: `cv.grid.${i}` });
      else for (const issue of parsed.error.issues) issues.push({ path: ['cv', 'grid', i, ...issue.path].join('.'), message: issue.message });
    });
    if (issues.length) throw new ValidationError('invalid grid experiment', issues);
  }
  // Scores of one set are compared with each other: they must share a judge.
  const judges = new Set(out.map(({ body: e }) => (e.judge_model == null ? null : typeof e.judge_model === 'string' ? e.judge_model : e.judge_model.name)).filter((j) => j !== null));
  if (judges.size > 1) throw new ValidationError('inconsistent judges', [{ path: 'judge_model', message: `every experiment of a set must use the same judge_model; got ${[...judges].join(', ')}` }]);
  return out;
}

/** Writes the set's new experiments; `setMaxCost`: the set has a max_cost, which needs their prices. */
async function addExperiments(core: CoreContext, client: Db, setId: number, bodies: { body: SetExperiment; path: string }[], setMaxCost: boolean): Promise<TaskInput[]> {
  const inline: InlineDatasets = new Map();
  const tasks: TaskInput[] = [];
  const issues: FieldIssue[] = [];
  for (const { body, path } of bodies) {
    try {
      tasks.push((await prepareExperiment(core, client, body, setId, path, inline, setMaxCost)).task);
    } catch (err) {
      // Report every invalid experiment at once; nothing is committed anyway.
      if (!(err instanceof ValidationError)) throw err;
      issues.push(...(err.issues.length ? err.issues : [{ path, message: err.message }]));
    }
  }
  if (issues.length) throw new ValidationError('invalid experiments', issues);
  return tasks;
}

export async function createExperimentSet(core: CoreContext, body: ExperimentSetCreate) {
  return getExperimentSet(core, await launchExperimentSet(core, body));
}

/** Writes and launches a set, in the caller's transaction `tx` if given (then it is launched when that commits); returns its id. */
export async function launchExperimentSet(core: CoreContext, body: ExperimentSetCreate, tx?: Db): Promise<number> {
  // Validated before anything is written: a refused body leaves no row, not even a rolled-back one in the files.
  const bodies = experimentBodies(body, body.name, 0);
  return withLaunch(core, async (client) => {
    // The grid is kept as sent, but its provider keys sealed, as every stored key is.
    const caps = capsOf(body);
    const set = await store.insertSet(client, { name: body.name, readme: body.readme, cv: body.cv === undefined ? undefined : await sealApiKeys(body.cv, core.secrets), caps });
    const tasks = await addExperiments(core, client, set.id, bodies, caps.max_cost !== null);
    core.logger.info('experiment_set_created', { experiment_set_id: set.id, experiments: tasks.length });
    return { value: set.id, tasks };
  }, tx);
}

export async function patchExperimentSet(core: CoreContext, id: number, patch: ExperimentSetPatch) {
  await withLaunch(core, async (client) => {
    const set = await store.getSet(client, id, true);
    await store.updateSet(client, id, patch);
    const changes = capChanges(patch);
    await checkCappable(client, await store.setExperimentIds(client, id), changes, (e) => `experiment ${e} of the set`);
    await experiments.setCaps(client, 'experiment_set', id, changes);
    const offset = await store.countSetExperiments(client, id);
    const maxCost = changes.max_cost !== undefined ? changes.max_cost : set.max_cost;
    const tasks = await addExperiments(core, client, id, experimentBodies(patch, patch.name ?? set.name, offset), maxCost !== null);
    return { value: undefined, tasks };
  });
  return getExperimentSet(core, id);
}

type Status = 'pending' | 'running' | 'finished' | 'stopped';

/**
 * A set's status, derived from its experiments' (so it can never disagree
 * with them). A set with no experiments is `finished`: it has nothing to
 * run. Evalap creates such sets (clients add experiments later), so they
 * are kept, but must not look as if something were still to come.
 */
export function setStatus(statuses: readonly string[]): Status {
  if (statuses.every((s) => s === 'finished')) return 'finished';
  if (statuses.every((s) => s === 'pending')) return 'pending';
  if (statuses.every((s) => s === 'finished' || s === 'stopped')) return 'stopped';
  return 'running';
}

/**
 * A set with its experiments. `withEco`: also the energy and carbon totals
 * of all their answers and judge calls, and what they cost (each priced as
 * its experiment's `cost`, summed): read from the rows, so asked for, not
 * sent to every poll of the set.
 */
export async function getExperimentSet(core: CoreContext, id: number, { withEco = false } = {}) {
  const set = await store.getSet(core.db, id);
  const { rows } = await experiments.listExperimentRows(core.db, { setIds: [id] });
  const items = rows.map(experiments.experimentView);
  const view = { ...set, cv: hideApiKeys(set.cv), status: setStatus(items.map((e) => e.experiment_status)), spent: sumSpent(items.map((e) => e.spent)), experiments: items };
  if (!withEco) return view;
  const tokens = await experiments.tokenTotals(core.db, rows.map((r) => r.id));
  return { ...view, eco: await ecoReport(core.db, { setId: id }), cost: { currency: 'USD' as const, ...sumCosts(rows.map((r) => experimentCost(r, tokens.get(r.id)!))) } };
}

export async function listExperimentSets(core: CoreContext, q: ListQuery) {
  const p = paging(q);
  const { rows, more } = await store.listSets(core.db, p);
  // The page's experiments in one query, not one per set.
  const { rows: members } = await experiments.listExperimentRows(core.db, { setIds: rows.map((s) => s.id) });
  const bySet = new Map<number, ReturnType<typeof experiments.experimentView>[]>(rows.map((s) => [s.id, []]));
  for (const e of members) bySet.get(e.experiment_set_id!)!.push(experiments.experimentView(e));
  const items = rows.map((set) => {
    const exps = bySet.get(set.id)!;
    return { ...set, cv: hideApiKeys(set.cv), status: setStatus(exps.map((e) => e.experiment_status)), spent: sumSpent(exps.map((e) => e.spent)), experiments: exps };
  });
  return { items, next_cursor: nextCursor(p, rows, more) };
}

export const deleteExperimentSet = (core: CoreContext, id: number) => store.deleteSet(core.db, id);

/** A set's experiments, as a scope of stop and retry. */
const ofSet = (id: number): ExperimentScope => async (client) => {
  await store.getSet(client, id, true);
  return store.setExperimentIds(client, id);
};

/** Cancels a set: unfinished experiments become `stopped`; the runner drops their queued tasks. */
export async function stopExperimentSet(core: CoreContext, id: number) {
  const ids = await stopExperiments(core, ofSet(id));
  core.logger.info('experiment_set_stopped', { experiment_set_id: id, experiments: ids.length });
  return getExperimentSet(core, id);
}

/** Re-enqueues what failed or is missing, experiment by experiment; the runner works out which rows and metrics. */
export async function retryExperimentSet(core: CoreContext, id: number, force = false) {
  // The counters are read in the retry's transaction, before it reopens anything: the lists say what it redoes.
  let before: experiments.RetryCounters[] = [];
  const scope: ExperimentScope = async (client) => {
    const ids = await ofSet(id)(client);
    before = await experiments.retryCounters(client, ids);
    return ids;
  };
  const ids = await retryExperiments(core, scope, force);
  core.logger.info('experiment_set_retried', { experiment_set_id: id, experiments: ids.length });
  return { experiment_set_id: id, reopened_experiment_ids: ids, ...retryRuns(before, ids) };
}

/**
 * Evalap's account of a retry (its RetryRuns), for the experiments reopened:
 * those with failed answers (else their results with failed observations),
 * and those with rows never tried (else their results with rows never tried).
 * Each reopened experiment gets one retry task that redoes all of it.
 */
function retryRuns(before: readonly experiments.RetryCounters[], reopened: readonly number[]) {
  const open = new Set(reopened);
  const runs = { experiment_ids: [] as number[], result_ids: [] as number[], unfinished_experiment_ids: [] as number[], unfinished_result_ids: [] as number[] };
  for (const e of before) {
    if (!open.has(e.id)) continue;
    // Bring-your-own answers cannot be generated again, as in Evalap: only their observations are retried.
    if (!e.has_raw_output && e.num_try !== e.num_success) runs.experiment_ids.push(e.id);
    else runs.result_ids.push(...e.results.filter((r) => r.num_try !== r.num_success).map((r) => r.id));
    // An experiment without a model has no answers to try: only its results can be unfinished.
    if (e.has_model && e.num_try !== e.num_total) runs.unfinished_experiment_ids.push(e.id);
    else runs.unfinished_result_ids.push(...e.results.filter((r) => r.num_try !== e.num_total).map((r) => r.id));
  }
  return runs;
}
