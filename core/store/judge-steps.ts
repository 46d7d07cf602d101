/**
 * Evaluation steps shared by an experiment's rows (migration 017): claimed by
 * one runner, written by one of its tasks, then read by every row. Once
 * stored, a row's steps never change, so a reader may keep them.
 */
import type { Db } from './db.js';

/** Which steps: an experiment's metric, and the hash of what its steps are made from (core/metrics/types.ts, SharedSteps). */
export interface StepsKey {
  experimentId: number;
  metric: string;
  hash: string;
}

/** The stored steps; or this runner now holds the claim to write them; or another runner does. */
export type StepsClaim = { steps: string[] } | { claimed: true } | { claimed: false };

/**
 * Reads the steps, or claims the writing of them for `leaseMs` when nobody
 * else holds a live claim (none yet, or one that expired: its holder died or
 * gave up). The owner may claim again: the runner makes sure one of its
 * tasks at a time writes a key's steps. Time is the database's, so runners'
 * clocks do not matter.
 */
export async function claimSteps(db: Db, key: StepsKey, owner: string, leaseMs: number): Promise<StepsClaim> {
  const claimed = await db.query(
    `INSERT INTO judge_steps (experiment_id, metric, inputs_hash, claimed_by, claimed_until)
     VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond')
     ON CONFLICT (experiment_id, metric, inputs_hash) DO UPDATE SET claimed_by = EXCLUDED.claimed_by, claimed_until = EXCLUDED.claimed_until
       WHERE judge_steps.steps IS NULL
         AND (judge_steps.claimed_until IS NULL OR judge_steps.claimed_until < now() OR judge_steps.claimed_by = EXCLUDED.claimed_by)
     RETURNING 1`,
    [key.experimentId, key.metric, key.hash, owner, leaseMs],
  );
  if (claimed.rows.length) return { claimed: true };
  const steps = await readSteps(db, key);
  return steps ? { steps } : { claimed: false };
}

export async function readSteps(db: Db, key: StepsKey): Promise<string[] | null> {
  const { rows } = await db.query<{ steps: string[] | null }>('SELECT steps FROM judge_steps WHERE experiment_id = $1 AND metric = $2 AND inputs_hash = $3', [
    key.experimentId,
    key.metric,
    key.hash,
  ]);
  return rows[0]?.steps ?? null;
}

/**
 * Stores `steps` unless steps are stored already (the first written wins:
 * a claim that expired while its task still ran may have been taken over),
 * and returns the steps stored, which every row must be judged by.
 */
export async function publishSteps(db: Db, key: StepsKey, steps: string[]): Promise<string[]> {
  await db.query(
    `INSERT INTO judge_steps (experiment_id, metric, inputs_hash, steps) VALUES ($1, $2, $3, $4::jsonb)
     ON CONFLICT (experiment_id, metric, inputs_hash) DO UPDATE SET steps = EXCLUDED.steps, claimed_by = NULL, claimed_until = NULL
       WHERE judge_steps.steps IS NULL`,
    [key.experimentId, key.metric, key.hash, JSON.stringify(steps)],
  );
  const stored = await readSteps(db, key);
  if (!stored) throw new Error(`the steps of ${key.metric} for experiment ${key.experimentId} could not be stored`);
  return stored;
}

/** Gives up `owner`'s claim (its task ended without steps), so the next task may claim at once. */
export async function releaseSteps(db: Db, key: StepsKey, owner: string): Promise<void> {
  await db.query(
    `UPDATE judge_steps SET claimed_by = NULL, claimed_until = NULL
     WHERE experiment_id = $1 AND metric = $2 AND inputs_hash = $3 AND steps IS NULL AND claimed_by = $4`,
    [key.experimentId, key.metric, key.hash, owner],
  );
}
