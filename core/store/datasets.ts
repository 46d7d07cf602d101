/** Dataset rows and metadata. Rows are stored one per database row. */
import { ConflictError, NotFoundError } from '../errors.js';
import type { Db } from './db.js';
import { jsonSlices, readDocs } from './large.js';
import { isoTime, uniqueName } from './sql.js';

export interface DatasetRecord {
  id: number;
  name: string;
  readme: string;
  default_metric: string | null;
  columns_map: Record<string, string> | null;
  compliance: boolean;
  columns: string[];
  size: number;
  parquet_size: number;
  parquet_columns: string[];
  created_at: string;
}

const COLUMNS = `id, name, readme, default_metric, columns_map, compliance, columns, size, parquet_size, parquet_columns, ${isoTime('created_at')} AS created_at`;
/** The select list of a dataset's metadata, for queries that embed it (an experiment's `dataset`). */
export const DATASET_COLUMNS = COLUMNS;

export interface NewDataset {
  name: string;
  readme: string;
  default_metric?: string | null;
  columns_map?: Record<string, string> | null;
  compliance: boolean;
}

export async function insertDataset(db: Db, d: NewDataset, columns: string[], rows: unknown[]): Promise<DatasetRecord> {
  const { rows: out } = await uniqueName(
    db.query<DatasetRecord>(
      `INSERT INTO dataset (name, readme, default_metric, columns_map, compliance, columns, size)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6::text[], $7) RETURNING ${COLUMNS}`,
      [d.name, d.readme, d.default_metric ?? null, d.columns_map ? JSON.stringify(d.columns_map) : null, d.compliance, columns, rows.length],
    ),
    () => `a dataset named ${JSON.stringify(d.name)} already exists`,
  );
  const record = out[0];
  await insertRows(db, record.id, 0, rows);
  return record;
}

/** Inserts rows numbered from `offset`, each slice of them as one JSON parameter (see large.ts for the slice size). */
async function insertRows(db: Db, datasetId: number, offset: number, rows: unknown[]): Promise<void> {
  for (const slice of jsonSlices(rows, 20_000)) {
    await db.query(
      `INSERT INTO dataset_row (dataset_id, num_line, data)
       SELECT $1, $2 + ord - 1, value FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(value, ord)`,
      [datasetId, offset + slice.offset, slice.json],
    );
  }
}

/** Appends rows to a dataset no experiment uses yet; returns the updated record. */
export async function appendRows(db: Db, id: number, columns: string[], rows: unknown[]): Promise<DatasetRecord> {
  const { rows: found } = await db.query<{ size: number; columns: string[] }>('SELECT size, columns FROM dataset WHERE id = $1 FOR UPDATE', [id]);
  if (!found.length) throw new NotFoundError('dataset', id);
  if (await isUsed(db, id)) throw new ConflictError(`dataset ${id} is used by experiments; its rows can no longer change`);
  const merged = [...found[0].columns, ...columns.filter((c) => !found[0].columns.includes(c))];
  await insertRows(db, id, found[0].size, rows);
  const { rows: out } = await db.query<DatasetRecord>(`UPDATE dataset SET size = size + $2, columns = $3::text[] WHERE id = $1 RETURNING ${COLUMNS}`, [id, rows.length, merged]);
  return out[0];
}

async function isUsed(db: Db, id: number): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM experiment WHERE dataset_id = $1 LIMIT 1', [id]);
  return (rowCount ?? 0) > 0;
}

export async function getDataset(db: Db, id: number): Promise<DatasetRecord> {
  const { rows } = await db.query<DatasetRecord>(`SELECT ${COLUMNS} FROM dataset WHERE id = $1`, [id]);
  if (!rows.length) throw new NotFoundError('dataset', id);
  return rows[0];
}

export async function findDatasetByName(db: Db, name: string): Promise<DatasetRecord | undefined> {
  const { rows } = await db.query<DatasetRecord>(`SELECT ${COLUMNS} FROM dataset WHERE name = $1`, [name]);
  return rows[0];
}

export async function listDatasets(db: Db): Promise<DatasetRecord[]> {
  const { rows } = await db.query<DatasetRecord>(`SELECT ${COLUMNS} FROM dataset ORDER BY id`);
  return rows;
}

/** The rows as a JSON records string, in row order. */
export async function datasetRecordsJson(db: Db, id: number): Promise<string> {
  const docs = await readDocs(db, 'SELECT num_line, data::text AS doc FROM dataset_row WHERE dataset_id = $1', [id], ['num_line']);
  return `[${docs.join(', ')}]`;
}

/** Up to `limit` rows after row `afterLine` (-1: from the first), in row order. */
export async function datasetRowsPage(db: Db, id: number, afterLine: number, limit: number): Promise<{ num_line: number; data: Record<string, unknown> }[]> {
  const docs = await readDocs(
    db,
    `SELECT num_line, json_build_object('num_line', num_line, 'data', data)::text AS doc FROM dataset_row
     WHERE dataset_id = $1 AND num_line > $2 ORDER BY num_line LIMIT $3`,
    [id, afterLine, limit],
    ['num_line'],
  );
  return docs.map((d) => JSON.parse(d));
}

export async function patchDataset(db: Db, id: number, patch: Partial<NewDataset>): Promise<DatasetRecord> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    values.push(key === 'columns_map' && value !== null ? JSON.stringify(value) : value);
    sets.push(`${key} = $${values.length}${key === 'columns_map' ? '::jsonb' : ''}`);
  }
  const { rows } = await uniqueName(db.query<DatasetRecord>(`UPDATE dataset SET ${sets.join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`, values), () => `a dataset named ${JSON.stringify(patch.name)} already exists`);
  if (!rows.length) throw new NotFoundError('dataset', id);
  return rows[0];
}

/**
 * Replaces a dataset's Parquet rows (Evalap overwrites the file on a new
 * upload), unless an experiment already uses the dataset: rows an
 * experiment has read never change under it.
 */
export async function replaceParquetRows(db: Db, id: number, columns: string[], rows: unknown[], byteSize: number): Promise<DatasetRecord> {
  const { rows: found } = await db.query('SELECT id FROM dataset WHERE id = $1 FOR UPDATE', [id]);
  if (!found.length) throw new NotFoundError('dataset', id);
  if (await isUsed(db, id)) throw new ConflictError(`dataset ${id} is used by experiments; its rows can no longer change`);
  await db.query('DELETE FROM dataset_parquet_row WHERE dataset_id = $1', [id]);
  for (const slice of jsonSlices(rows, 20_000)) {
    await db.query(
      `INSERT INTO dataset_parquet_row (dataset_id, num_line, data)
       SELECT $1, $2 + ord - 1, value FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(value, ord)`,
      [id, slice.offset, slice.json],
    );
  }
  const { rows: out } = await db.query<DatasetRecord>(
    `UPDATE dataset SET parquet_size = $2, parquet_columns = $3::text[], parquet_byte_size = $4 WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, rows.length, columns, byteSize],
  );
  return out[0];
}

export async function deleteDataset(db: Db, id: number): Promise<void> {
  const { rows } = await db.query('SELECT id FROM dataset WHERE id = $1 FOR UPDATE', [id]);
  if (!rows.length) throw new NotFoundError('dataset', id);
  if (await isUsed(db, id)) throw new ConflictError(`dataset ${id} is used by experiments; delete them first`);
  await db.query('DELETE FROM dataset WHERE id = $1', [id]);
}
