/**
 * Group commit of task outcomes. One transaction stores a batch of answers
 * and observations in their terminal state, updates the counters and score
 * aggregates of their experiments and results, and moves statuses on: the
 * transaction that reaches a total marks the result, then the experiment,
 * finished. Writes are idempotent: a redelivered outcome changes nothing, and
 * only a success ever replaces a stored failure, never the reverse.
 */
import type pg from 'pg';
import { storableJson } from '../storable.js';
import type { Db } from './db.js';

export interface AnswerOutcome {
  experiment_id: number;
  num_line: number;
  answer: string | null;
  think?: string | null;
  context?: unknown;
  retrieval_context?: unknown;
  nb_tokens_prompt?: number | null;
  nb_tokens_completion?: number | null;
  nb_tool_calls?: number | null;
  execution_time?: number | null;
  /** Energy and carbon of the generation (core/eco); none for bring-your-own outputs. */
  emission_carbon?: unknown;
  /** Set when the answer failed for good. */
  error_msg: string | null;
  /** Attempts this outcome took. */
  num_try: number;
}

export interface ObservationOutcome {
  result_id: number;
  num_line: number;
  score: number | null;
  observation?: unknown;
  error_msg: string | null;
  execution_time?: number | null;
  /** Energy and carbon of the judge call(s) that scored it (core/eco); none for metrics that call no model. */
  emission_carbon?: unknown;
  num_try: number;
}

export interface CommitSummary {
  /** Experiments whose outcomes were dropped because they are stopped or gone. */
  skippedExperiments: number[];
  /** Experiments that reached `finished` in this transaction. */
  finished: number[];
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
 * round trip (the function is in migration 004, redefined by 008). What models and judges
 * returned is made storable first (NUL characters and unpaired surrogates
 * replaced): PostgreSQL would refuse the whole batch for one of them.
 */
export async function commitOutcomes(
  pool: pg.Pool,
  answers: readonly AnswerOutcome[],
  observations: readonly (ObservationOutcome & { experiment_id: number })[],
): Promise<CommitSummary> {
  if (!answers.length && !observations.length) return { skippedExperiments: [], finished: [] };
  const uniqueAnswers = dedupe(answers, (a) => `${a.experiment_id}:${a.num_line}`);
  const uniqueObservations = dedupe(observations, (o) => `${o.result_id}:${o.num_line}`);
  const { rows } = await pool.query<{ skipped: number[]; finished: number[] }>(
    'SELECT skipped, finished FROM evalap_commit_outcomes($1::jsonb, $2::jsonb)',
    [storableJson(uniqueAnswers), storableJson(uniqueObservations)],
  );
  return { skippedExperiments: rows[0].skipped, finished: rows[0].finished };
}
