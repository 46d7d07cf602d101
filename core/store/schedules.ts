/** Schedules and their runs. */
import { NotFoundError } from '../errors.js';
import type { Db } from './db.js';
import { isoTime as TS, uniqueName } from './sql.js';
const COLUMNS = `id, name, cron, timezone, template, paused, ${TS('last_tick_at')} AS last_tick_at, ${TS('created_at')} AS created_at`;

export interface ScheduleRecord {
  id: number;
  name: string;
  cron: string;
  timezone: string;
  template: Record<string, unknown>;
  paused: boolean;
  last_tick_at: string | null;
  created_at: string;
}

export interface RunRecord {
  id: number;
  tick_at: string;
  status: 'launched' | 'skipped' | 'failed';
  reason: string | null;
  experiment_set_id: number | null;
  comparison: unknown;
}

const taken = (name: unknown) => () => `a schedule named ${JSON.stringify(name)} already exists`;

export async function insertSchedule(db: Db, s: { name: string; cron: string; timezone: string; template: unknown }): Promise<ScheduleRecord> {
  const { rows } = await uniqueName(
    db.query<ScheduleRecord>(`INSERT INTO schedule (name, cron, timezone, template) VALUES ($1, $2, $3, $4::jsonb) RETURNING ${COLUMNS}`, [s.name, s.cron, s.timezone, JSON.stringify(s.template)]),
    taken(s.name),
  );
  return rows[0];
}

export async function getSchedule(db: Db, id: number, lock = false): Promise<ScheduleRecord> {
  const { rows } = await db.query<ScheduleRecord>(`SELECT ${COLUMNS} FROM schedule WHERE id = $1 ${lock ? 'FOR UPDATE' : ''}`, [id]);
  if (!rows.length) throw new NotFoundError('schedule', id);
  return rows[0];
}

export async function listSchedules(db: Db): Promise<ScheduleRecord[]> {
  return (await db.query<ScheduleRecord>(`SELECT ${COLUMNS} FROM schedule ORDER BY id`)).rows;
}

export async function updateSchedule(db: Db, id: number, fields: Partial<Pick<ScheduleRecord, 'name' | 'cron' | 'timezone' | 'template' | 'paused'>>): Promise<ScheduleRecord> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    values.push(k === 'template' ? JSON.stringify(v) : v);
    sets.push(`${k} = $${values.length}${k === 'template' ? '::jsonb' : ''}`);
  }
  if (!sets.length) return getSchedule(db, id);
  const { rows } = await uniqueName(db.query<ScheduleRecord>(`UPDATE schedule SET ${sets.join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`, values), taken(fields.name));
  if (!rows.length) throw new NotFoundError('schedule', id);
  return rows[0];
}

export async function deleteSchedule(db: Db, id: number): Promise<void> {
  const { rowCount } = await db.query('DELETE FROM schedule WHERE id = $1', [id]);
  if (!rowCount) throw new NotFoundError('schedule', id);
}

/** Records a tick's outcome; a tick already recorded (a duplicate delivery) returns undefined. */
export async function insertRun(db: Db, scheduleId: number, tickAt: Date, run: { status: string; reason?: string; experiment_set_id?: number | null }): Promise<number | undefined> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO schedule_run (schedule_id, tick_at, status, reason, experiment_set_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (schedule_id, tick_at) DO NOTHING RETURNING id`,
    [scheduleId, tickAt, run.status, run.reason ?? null, run.experiment_set_id ?? null],
  );
  await db.query('UPDATE schedule SET last_tick_at = greatest(last_tick_at, $2) WHERE id = $1', [scheduleId, tickAt]);
  return rows[0]?.id;
}

export async function listRuns(db: Db, scheduleId: number): Promise<RunRecord[]> {
  const { rows } = await db.query<RunRecord>(
    `SELECT id, ${TS('tick_at')} AS tick_at, status, reason, experiment_set_id, comparison FROM schedule_run WHERE schedule_id = $1 ORDER BY tick_at`,
    [scheduleId],
  );
  return rows;
}

export async function setComparison(db: Db, runId: number, comparison: unknown): Promise<void> {
  await db.query('UPDATE schedule_run SET comparison = $2::jsonb WHERE id = $1', [runId, JSON.stringify(comparison)]);
}

/** Statuses of a set's experiments (empty for a deleted set). */
export async function setStatuses(db: Db, setId: number): Promise<string[]> {
  const { rows } = await db.query<{ experiment_status: string }>('SELECT experiment_status FROM experiment WHERE experiment_set_id = $1', [setId]);
  return rows.map((r) => r.experiment_status);
}
