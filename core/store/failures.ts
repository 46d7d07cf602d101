/**
 * Why an experiment's rows failed, summarised: its failed answers and each
 * metric's failed observations grouped into kinds (the message with its
 * numbers masked, so "row 7: timeout after 30000 ms" and "row 9: ..." are
 * one kind), each with its count, one example and the first row it hit.
 */
import type { Db } from './db.js';

export interface FailureKind {
  /** One message of the kind, as recorded. */
  example: string;
  rows: number;
  first_num_line: number;
}

export interface FailureGroup {
  failed: number;
  /** The most frequent kinds first, at most KINDS of them. */
  kinds: FailureKind[];
  /** Failed rows whose kind is beyond the ones listed. */
  other_rows: number;
}

const KINDS = 10;

/** Masks the parts of a message that differ between rows of one failure (numbers) so they group. */
const KIND = `regexp_replace(error_msg, '[0-9]+', '#', 'g')`;

function group(rows: { owner: number; kind: string; example: string; n: number; first_num_line: number }[], owner: number): FailureGroup {
  const mine = rows.filter((r) => r.owner === owner);
  const failed = mine.reduce((s, r) => s + r.n, 0);
  const kinds = mine.slice(0, KINDS).map((r) => ({ example: r.example, rows: r.n, first_num_line: r.first_num_line }));
  return { failed, kinds, other_rows: failed - kinds.reduce((s, k) => s + k.rows, 0) };
}

export async function experimentFailures(db: Db, experimentId: number): Promise<{ answers: FailureGroup; results: Map<number, FailureGroup> }> {
  const order = 'ORDER BY owner, n DESC, kind';
  const [answers, observations] = await Promise.all([
    db.query(
      `SELECT 0 AS owner, kind, min(error_msg) AS example, count(*)::int AS n, min(num_line) AS first_num_line
       FROM (SELECT ${KIND} AS kind, error_msg, num_line FROM answer WHERE experiment_id = $1 AND error_msg IS NOT NULL) f
       GROUP BY kind ${order}`,
      [experimentId],
    ),
    db.query(
      `SELECT result_id AS owner, kind, min(error_msg) AS example, count(*)::int AS n, min(num_line) AS first_num_line
       FROM (SELECT o.result_id, ${KIND} AS kind, o.error_msg, o.num_line FROM observation o JOIN result r ON r.id = o.result_id
             WHERE r.experiment_id = $1 AND o.error_msg IS NOT NULL) f
       GROUP BY result_id, kind ${order}`,
      [experimentId],
    ),
  ]);
  const owners = new Set<number>(observations.rows.map((r) => r.owner));
  return { answers: group(answers.rows, 0), results: new Map([...owners].map((id) => [id, group(observations.rows, id)])) };
}
