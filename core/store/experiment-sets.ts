/** Experiment sets: a name, a readme, and the grid they were made from. */
import type { Caps } from '../cost/budget.js';
import { NotFoundError } from '../errors.js';
import type { Db } from './db.js';
import { isoTime, uniqueName } from './sql.js';

export interface SetRecord extends Caps {
  id: number;
  name: string;
  readme: string;
  cv: unknown;
  created_at: string;
}

const COLUMNS = `id, name, readme, cv, max_cost, max_tokens_total, ${isoTime('created_at')} AS created_at`;
const taken = (name: unknown) => () => `an experiment set named ${JSON.stringify(name)} already exists`;

export async function insertSet(db: Db, s: { name: string; readme: string; cv: unknown; caps: Caps }): Promise<SetRecord> {
  const { rows } = await uniqueName(
    db.query<SetRecord>(`INSERT INTO experiment_set (name, readme, cv, max_cost, max_tokens_total) VALUES ($1, $2, $3::jsonb, $4::float8, $5::bigint) RETURNING ${COLUMNS}`, [
      s.name, s.readme, s.cv === undefined ? null : JSON.stringify(s.cv), s.caps.max_cost, s.caps.max_tokens_total,
    ]),
    taken(s.name),
  );
  return rows[0];
}

export async function getSet(db: Db, id: number, lock = false): Promise<SetRecord> {
  const { rows } = await db.query<SetRecord>(`SELECT ${COLUMNS} FROM experiment_set WHERE id = $1 ${lock ? 'FOR UPDATE' : ''}`, [id]);
  if (!rows.length) throw new NotFoundError('experiment set', id);
  return rows[0];
}

export interface SetFilter {
  limit: number;
  afterId?: number;
  /** Rows skipped before the page (Evalap's `skip`). */
  offset?: number;
  /** Newest first (Evalap's `backward`). */
  descending?: boolean;
  /** Only sets with an experiment on a dataset with this compliance flag (as Evalap filters). */
  compliance?: boolean;
}

/** One page in id order (or its reverse), plus whether more follow. */
export async function listSets(db: Db, f: SetFilter): Promise<{ rows: SetRecord[]; more: boolean }> {
  const where: string[] = [];
  const values: unknown[] = [];
  if (f.afterId !== undefined) where.push(`s.id > $${values.push(f.afterId)}`);
  if (f.compliance !== undefined) {
    where.push(`EXISTS (SELECT 1 FROM experiment e JOIN dataset d ON d.id = e.dataset_id
                        WHERE e.experiment_set_id = s.id AND d.compliance = $${values.push(f.compliance)}::boolean)`);
  }
  const { rows } = await db.query<SetRecord>(
    `SELECT ${COLUMNS} FROM experiment_set s ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY s.id ${f.descending ? 'DESC' : ''}
     LIMIT $${values.push(f.limit + 1)} OFFSET $${values.push(f.offset ?? 0)}`,
    values,
  );
  return { rows: rows.slice(0, f.limit), more: rows.length > f.limit };
}

export async function updateSet(db: Db, id: number, fields: { name?: string; readme?: string }): Promise<void> {
  if (fields.name !== undefined) await uniqueName(db.query('UPDATE experiment_set SET name = $2 WHERE id = $1', [id, fields.name]), taken(fields.name));
  if (fields.readme !== undefined) await db.query('UPDATE experiment_set SET readme = $2 WHERE id = $1', [id, fields.readme]);
}

export async function countSetExperiments(db: Db, id: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM experiment WHERE experiment_set_id = $1', [id]);
  return rows[0].n;
}

/** The ids of a set's experiments, in id order. */
export async function setExperimentIds(db: Db, id: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>('SELECT id FROM experiment WHERE experiment_set_id = $1 ORDER BY id', [id]);
  return rows.map((r) => r.id);
}

export async function deleteSet(db: Db, id: number): Promise<void> {
  const { rowCount } = await db.query('DELETE FROM experiment_set WHERE id = $1', [id]);
  if (!rowCount) throw new NotFoundError('experiment set', id);
}
