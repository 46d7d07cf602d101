/**
 * Budget caps behind the API (the arithmetic is core/cost/budget.ts; the
 * stop itself happens in the group commit, migration 016): the caps a launch
 * or a PATCH sets, refused in USD where a price is missing, and the 409 of a
 * retry or rerun of experiments at their cap, which would only spend past it.
 */
import { reachedCaps, describeReached, spentOf, sumSpent, unpricedIssues, type Caps } from './cost/budget.js';
import { ConflictError, ValidationError, type FieldIssue } from './errors.js';
import { isInline } from './metrics/score.js';
import type { Db } from './store/db.js';
import * as store from './store/experiments.js';

/** The caps of a launch body (absent is none). */
export const capsOf = (body: { max_cost?: number | null; max_tokens_total?: number | null }): Caps => ({
  max_cost: body.max_cost ?? null,
  max_tokens_total: body.max_tokens_total ?? null,
});

/** The caps a PATCH body changes: undefined keeps a cap, null removes it. */
export const capChanges = (patch: { max_cost?: number | null; max_tokens_total?: number | null }): Partial<Caps> => ({
  ...(patch.max_cost !== undefined ? { max_cost: patch.max_cost } : {}),
  ...(patch.max_tokens_total !== undefined ? { max_tokens_total: patch.max_tokens_total } : {}),
});

/**
 * Throws the 400 of a PATCH that puts a cap on the stored experiments `ids`
 * (an experiment, or a set's) it cannot be weighed for: totals unknown (an
 * experiment launched before they were kept), or, for a max_cost, a model or
 * a judge with no pinned price. A cap removed needs nothing. `which` names
 * an experiment in the messages.
 */
export async function checkCappable(db: Db, ids: readonly number[], changes: Partial<Caps>, which: (id: number) => string): Promise<void> {
  const capPath = (['max_cost', 'max_tokens_total'] as const).find((k) => changes[k] != null);
  if (!capPath || !ids.length) return;
  const wanted = new Set(ids);
  const rows = (await store.budgetRows(db, ids)).filter((r) => wanted.has(r.id));
  const results = await store.resultsByExperiment(db, [...ids]);
  const issues = rows.flatMap((r): FieldIssue[] => {
    if (r.used_prompt_tokens === null) return [{ path: capPath, message: `${which(r.id)} was launched before spending was counted: what it spent is unknown, so it cannot be capped` }];
    if (changes.max_cost == null) return [];
    const judged = (results.get(r.id) ?? []).some((res) => !isInline(res.metric_name));
    const parts = { model: r.model, modelPath: 'model', judge: r.judge_model, judgePath: 'judge_model', answers: r.model !== null && !r.has_raw_output, judged };
    return unpricedIssues(parts, 'max_cost', false).map((i) => ({ path: 'max_cost', message: `${which(r.id)}: ${i.message}` }));
  });
  if (issues.length) throw new ValidationError('cannot cap', issues);
}

/**
 * Refuses (409) a retry or rerun of any of the experiments `ids` whose own
 * caps, or whose set's (over all its experiments), are reached: it would be
 * stopped again at its first commit, having spent more. Raising the cap, or
 * removing it, lets it through.
 */
export async function refuseAtCaps(db: Db, ids: readonly number[]): Promise<void> {
  if (!ids.length) return;
  const rows = await store.budgetRows(db, ids);
  const wanted = new Set(ids);
  const reasons: string[] = [];
  for (const r of rows.filter((r) => wanted.has(r.id))) {
    for (const cap of reachedCaps(r, spentOf(r))) {
      reasons.push(`experiment ${r.id} is at its ${describeReached(cap)}: raise or remove it (null) with PATCH /v1/experiment/${r.id}`);
    }
  }
  const sets = new Map<number, store.BudgetRow[]>();
  for (const r of rows) {
    if (r.experiment_set_id === null) continue;
    if (!sets.has(r.experiment_set_id)) sets.set(r.experiment_set_id, []);
    sets.get(r.experiment_set_id)!.push(r);
  }
  for (const [setId, members] of sets) {
    if (!members.some((m) => wanted.has(m.id))) continue;
    const caps = { max_cost: members[0].set_max_cost, max_tokens_total: members[0].set_max_tokens_total };
    for (const cap of reachedCaps(caps, sumSpent(members.map(spentOf)))) {
      reasons.push(`experiment set ${setId} is at its ${describeReached(cap)}: raise or remove it (null) with PATCH /v1/experiment_set/${setId}`);
    }
  }
  if (reasons.length) throw new ConflictError(`budget reached, nothing was started again: ${reasons.join('; ')}`);
}
