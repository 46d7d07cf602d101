/**
 * Group commit of task outcomes. One transaction stores a batch of answers
 * and observations in their terminal state, updates the counters and score
 * aggregates of their experiments and results, and moves statuses on: the
 * transaction that reaches a total marks the result, then the experiment,
 * finished. Writes are idempotent: a redelivered outcome changes nothing, and
 * only a success ever replaces a stored failure, never the reverse.
 */
import type pg from 'pg';
import type { AnswerCommit } from '../answer.js';
import type { ObservationCommit } from '../observation.js';
import { storableJson } from '../storable.js';
import type { Db } from './db.js';

/** An answer (core/answer.ts) with its row and the attempts it took; `error_msg` is set when it failed for good. */
export type AnswerOutcome = AnswerCommit & {
  experiment_id: number;
  num_line: number;
  num_try: number;
};

/** An observation (core/observation.ts) with its result, its row and the attempts it took. */
export type ObservationOutcome = ObservationCommit & {
  result_id: number;
  num_line: number;
  num_try: number;
};

export interface CommitSummary {
  /** Experiments whose outcomes were dropped because they are stopped or gone. */
  skippedExperiments: number[];
  /** Experiments that reached `finished` in this transaction. */
  finished: number[];
  /**
   * Experiments stopped by a budget cap (migration 016): by this commit, or
   * before it while their calls were in flight (those outcomes are recorded),
   * and every experiment so stopped of their capped sets.
   */
  budgetStopped: number[];
}

/** Keeps one outcome per key, preferring a success: one statement may not touch a row twice. */
function dedupe<T extends { error_msg: string | null }>(items: readonly T[], key: (t: T) => string): T[] {
  const out = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    const seen = out.get(k);
    if (!seen || (seen.error_msg !== null && item.error_msg === null)) out.set(k, item);
  }
  return [...out.values()];
}

/**
 * Moves the statuses of `ids` on from their counters: a result is finished
 * when every row was tried; an experiment is running its answers until every
 * answer was tried, then its metrics until every result finished.
 * Returns the experiments that became finished. (SQL: migration 004.)
 */
export async function advance(db: Db, ids: readonly number[]): Promise<number[]> {
  if (!ids.length) return [];
  const { rows } = await db.query<{ done: number[] }>('SELECT evalap_advance($1::int[]) AS done', [ids]);
  return rows[0].done;
}

/**
 * Stores a batch of outcomes in one statement, hence one transaction and one
 * round trip (the function is in migration 004, redefined by 008, 015,
 * 016, which keeps the budgets' totals and stops what reaches a cap, and 018,
 * which stores and totals cached prompt tokens). What models and judges
 * returned is made storable first (NUL characters and unpaired surrogates
 * replaced): PostgreSQL would refuse the whole batch for one of them.
 */
export async function commitOutcomes(
  pool: pg.Pool,
  answers: readonly AnswerOutcome[],
  observations: readonly (ObservationOutcome & { experiment_id: number })[],
): Promise<CommitSummary> {
  if (!answers.length && !observations.length) return { skippedExperiments: [], finished: [], budgetStopped: [] };
  const uniqueAnswers = dedupe(answers, (a) => `${a.experiment_id}:${a.num_line}`);
  const uniqueObservations = dedupe(observations, (o) => `${o.result_id}:${o.num_line}`);
  const { rows } = await pool.query<{ skipped: number[]; finished: number[]; stopped: number[] }>(
    'SELECT skipped, finished, stopped FROM evalap_commit_outcomes($1::jsonb, $2::jsonb)',
    [storableJson(uniqueAnswers), storableJson(uniqueObservations)],
  );
  return { skippedExperiments: rows[0].skipped, finished: rows[0].finished, budgetStopped: rows[0].stopped };
}
