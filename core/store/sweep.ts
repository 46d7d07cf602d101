/**
 * The sweeper's database side: which unfinished experiments have stalled
 * (no progress for a while, whatever the queue holds or lost), claimed by one
 * sweeper at a time, and the failure records of work given up on.
 */
import type pg from 'pg';
import type { Database } from './db.js';
import { advance, commitOutcomes, type AnswerOutcome, type ObservationOutcome } from './outcomes.js';
import { inTransaction } from './pool.js';

const LIVE = `('pending', 'running_answers', 'running_metrics')`;
/** One sweep at a time across runners: a transaction-level advisory lock on this key. */
const SWEEP_LOCK = 0x65766c70;
/** Failure records committed per statement. */
const CHUNK = 1000;

export interface Claimed {
  /** Stalled experiments whose missing work is to be enqueued again (their count of re-enqueues is raised). */
  requeue: { id: number; requeues: number }[];
  /** Stalled experiments re-enqueued `maxRequeues` times already: their missing work is to be recorded as failed. */
  giveUp: { id: number; stalledSec: number }[];
}

/**
 * Records each unfinished experiment's progress, moves on statuses whose
 * counters are complete, and claims the experiments with no progress for
 * `stallAfterSec` (and not acted on within that time). Undefined when
 * another sweeper holds the lock.
 */
export async function claimStalled(pool: pg.Pool | Database, stallAfterSec: number, maxRequeues: number): Promise<Claimed | undefined> {
  return inTransaction(pool, async (db) => {
    const { rows: lock } = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [SWEEP_LOCK]);
    if (!lock[0].ok) return undefined;
    await db.query(`DELETE FROM experiment_sweep s USING experiment e WHERE e.id = s.experiment_id AND e.experiment_status NOT IN ${LIVE}`);
    // Progress: answers and observations tried. A retry lowers it, an added metric's work raises it: any change counts.
    await db.query(
      `INSERT INTO experiment_sweep AS s (experiment_id, progress)
       SELECT e.id, e.num_try + coalesce((SELECT sum(r.num_try) FROM result r WHERE r.experiment_id = e.id), 0)
       FROM experiment e WHERE e.experiment_status IN ${LIVE}
       ON CONFLICT (experiment_id) DO UPDATE SET progress = EXCLUDED.progress, progress_at = now(), requeues = 0, requeued_at = NULL
       WHERE s.progress <> EXCLUDED.progress`,
    );
    const { rows: candidates } = await db.query<{ id: number; requeues: number; stalled_sec: number }>(
      `SELECT s.experiment_id AS id, s.requeues, extract(epoch FROM now() - s.progress_at)::int AS stalled_sec
       FROM experiment_sweep s JOIN experiment e ON e.id = s.experiment_id
       WHERE e.experiment_status IN ${LIVE}
         AND s.progress_at <= now() - make_interval(secs => $1) AND (s.requeued_at IS NULL OR s.requeued_at <= now() - make_interval(secs => $1))
       ORDER BY s.experiment_id FOR UPDATE OF s`,
      [stallAfterSec],
    );
    if (!candidates.length) return { requeue: [], giveUp: [] };
    // Counters complete but a status left behind (a commit racing a PATCH, an empty experiment): only a status to move.
    const finished = new Set(await advance(db, candidates.map((c) => c.id)));
    const stalled = candidates.filter((c) => !finished.has(c.id));
    await db.query('UPDATE experiment_sweep SET requeues = requeues + 1, requeued_at = now() WHERE experiment_id = ANY($1::int[])', [stalled.map((c) => c.id)]);
    return {
      requeue: stalled.filter((c) => c.requeues < maxRequeues).map((c) => ({ id: c.id, requeues: c.requeues + 1 })),
      giveUp: stalled.filter((c) => c.requeues >= maxRequeues).map((c) => ({ id: c.id, stalledSec: c.stalled_sec })),
    };
  });
}

/** Unfinished experiments with no progress for `stallAfterSec`, as of the last sweep (or their last update, if never swept). */
export async function stalledExperiments(db: Database, stallAfterSec: number): Promise<{ id: number; status: string; since: string }[]> {
  const { rows } = await db.query<{ id: number; status: string; since: string }>(
    `SELECT e.id, e.experiment_status AS status, to_char(coalesce(s.progress_at, e.updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since
     FROM experiment e LEFT JOIN experiment_sweep s ON s.experiment_id = e.id
     WHERE e.experiment_status IN ${LIVE} AND coalesce(s.progress_at, e.updated_at) <= now() - make_interval(secs => $1::int)
     ORDER BY e.id LIMIT 100`,
    [stallAfterSec],
  );
  return rows;
}

type Observation = ObservationOutcome & { experiment_id: number };

/**
 * Records every answer and observation an experiment still lacks as failed
 * with `reason`, which finishes it (an experiment without a model lacks no
 * answer: it has none to make). Returns the rows recorded.
 */
export async function failMissingWork(pool: pg.Pool, experimentId: number, reason: string): Promise<number> {
  const { rows } = await pool.query<{ num_line: number; answered: boolean; unobserved: number[] }>(
    `WITH l AS (SELECT unnest(coalesce(e.sample, ARRAY(SELECT generate_series(0, e.num_total - 1)))) AS num_line, e.model IS NULL AS modelless
                FROM experiment e WHERE e.id = $1),
          m AS (SELECT l.num_line, l.modelless OR EXISTS (SELECT 1 FROM answer a WHERE a.experiment_id = $1 AND a.num_line = l.num_line) AS answered,
                       ARRAY(SELECT r.id FROM result r WHERE r.experiment_id = $1
                             AND NOT EXISTS (SELECT 1 FROM observation o WHERE o.result_id = r.id AND o.num_line = l.num_line) ORDER BY r.id) AS unobserved
                FROM l)
     SELECT * FROM m WHERE NOT answered OR cardinality(unobserved) > 0 ORDER BY num_line`,
    [experimentId],
  );
  for (let start = 0; start < rows.length; start += CHUNK) {
    const answers: AnswerOutcome[] = [];
    const observations: Observation[] = [];
    for (const row of rows.slice(start, start + CHUNK)) {
      if (!row.answered) answers.push({ experiment_id: experimentId, num_line: row.num_line, answer: null, error_msg: reason, num_try: 0 });
      const error = row.answered ? reason : `no answer: ${reason}`;
      for (const resultId of row.unobserved) observations.push({ experiment_id: experimentId, result_id: resultId, num_line: row.num_line, score: null, error_msg: error, num_try: 0 });
    }
    await commitOutcomes(pool, answers, observations);
  }
  return rows.length;
}

/** A task that reached the dead-letter queue, recorded as failed: the answer and every result of its row, or its one observation. */
export async function failDeadLettered(
  pool: pg.Pool,
  tasks: readonly ({ type: 'answer'; experiment_id: number; num_line: number; reason: string } | { type: 'observation'; experiment_id: number; result_id: number; num_line: number; reason: string })[],
): Promise<void> {
  if (!tasks.length) return;
  const ids = [...new Set(tasks.map((t) => t.experiment_id))];
  const { rows } = await pool.query<{ experiment_id: number; id: number }>('SELECT experiment_id, id FROM result WHERE experiment_id = ANY($1::int[])', [ids]);
  const answers: AnswerOutcome[] = [];
  const observations: Observation[] = [];
  for (const t of tasks) {
    const error = t.reason;
    if (t.type === 'observation') {
      observations.push({ experiment_id: t.experiment_id, result_id: t.result_id, num_line: t.num_line, score: null, error_msg: error, num_try: 0 });
      continue;
    }
    // Stored outcomes stay: only a success ever replaces a failure, never the reverse.
    answers.push({ experiment_id: t.experiment_id, num_line: t.num_line, answer: null, error_msg: error, num_try: 0 });
    for (const r of rows.filter((r) => r.experiment_id === t.experiment_id)) {
      observations.push({ experiment_id: t.experiment_id, result_id: r.id, num_line: t.num_line, score: null, error_msg: error, num_try: 0 });
    }
  }
  await commitOutcomes(pool, answers, observations);
}
