/** Dataset operations behind the API: parse uploads, store rows, guard deletes. */
import type { CoreContext } from './context.js';
import { cursor } from './cursor.js';
import { parseCsv, parseDataFrameJson, parseJsonl, type ParsedFrame } from './dataframe.js';
import { NotFoundError, ValidationError, type FieldIssue } from './errors.js';
import { getMetric } from './metrics/registry.js';
import { readParquet } from './parquet.js';
import { findUnstorable } from './storable.js';
import type { DatasetCreate, DatasetPatch } from './schemas.js';
import * as store from './store/datasets.js';

/** Upload formats a dataset body may come in. */
export type UploadFormat = 'df' | 'jsonl' | 'csv';

export function parseUpload(format: UploadFormat, text: string): ParsedFrame {
  const frame = format === 'csv' ? parseCsv(text) : format === 'jsonl' ? parseJsonl(text) : parseDataFrameJson(text);
  const issue = findUnstorable(frame.rows, 'rows');
  if (issue) throw new ValidationError('invalid dataset rows', [issue]);
  return frame;
}

function checkMetadata(d: { default_metric?: string | null; columns_map?: Record<string, string> | null }, columns?: string[]) {
  if (d.default_metric && !getMetric(d.default_metric)) {
    throw new ValidationError('invalid dataset', [{ path: 'default_metric', message: `unknown metric ${JSON.stringify(d.default_metric)}; GET /v1/metrics lists them` }]);
  }
  if (d.columns_map && columns) {
    const missing = Object.entries(d.columns_map).filter(([, col]) => !columns.includes(col));
    if (missing.length) {
      throw new ValidationError('invalid dataset', missing.map(([field, col]) => ({ path: `columns_map.${field}`, message: `the dataset has no column ${JSON.stringify(col)}` })));
    }
  }
}

export type DatasetMetadata = Omit<DatasetCreate, 'df'>;

export async function createDataset(core: CoreContext, meta: DatasetMetadata, frame: ParsedFrame) {
  checkMetadata(meta, frame.columns);
  return core.db.transaction((client) => store.insertDataset(client, meta, frame.columns, frame.rows));
}

export async function appendDatasetRows(core: CoreContext, id: number, frame: ParsedFrame) {
  return core.db.transaction((client) => store.appendRows(client, id, frame.columns, frame.rows));
}

export async function getDataset(core: CoreContext, id: number, withDf: boolean) {
  const d = await store.getDataset(core.db, id);
  return withDf ? { ...d, df: await store.datasetRecordsJson(core.db, id) } : d;
}

export async function getDatasetByName(core: CoreContext, name: string, withDf: boolean) {
  const d = await store.findDatasetByName(core.db, name);
  if (!d) throw new NotFoundError('dataset', name);
  return withDf ? { ...d, df: await store.datasetRecordsJson(core.db, d.id) } : d;
}

export const listDatasets = (core: CoreContext) => store.listDatasets(core.db);

export async function patchDataset(core: CoreContext, id: number, patch: DatasetPatch) {
  const current = await store.getDataset(core.db, id);
  // As in Evalap, columns_map may name a column of the Parquet upload (Marker's OCR notebook maps output_true to one).
  checkMetadata(patch, [...current.columns, ...current.parquet_columns]);
  return store.patchDataset(core.db, id, patch);
}

/**
 * A row is written in one statement, and the RDS Data API takes requests of
 * at most 4 MiB (Aurora User Guide, "Limits for the Amazon RDS Data API"):
 * with room for escaping, a row's JSON (its image in base64) stays under 3 MiB.
 */
const MAX_ROW_JSON_BYTES = 3 << 20;

function oversizedRow(rows: unknown[]): FieldIssue | undefined {
  const i = rows.findIndex((r) => Buffer.byteLength(JSON.stringify(r)) > MAX_ROW_JSON_BYTES);
  return i < 0 ? undefined : { path: `rows.${i}`, message: `is larger than ${MAX_ROW_JSON_BYTES} bytes once stored (images as base64); store smaller images` };
}

/**
 * Stores a Parquet file's rows as the dataset's Parquet rows (what a
 * `with_vision` experiment reads) and answers the updated dataset, as
 * Evalap's upload_parquet does. Nothing is written unless the whole file reads.
 */
export async function uploadParquet(core: CoreContext, id: number, bytes: Uint8Array) {
  await store.getDataset(core.db, id);
  const frame = await readParquet(bytes);
  const issue = findUnstorable(frame.rows, 'rows') ?? oversizedRow(frame.rows);
  if (issue) throw new ValidationError('invalid Parquet rows', [issue]);
  return core.db.transaction((client) => store.replaceParquetRows(client, id, frame.columns, frame.rows, bytes.byteLength));
}

/** The Parquet column whose image a with_vision experiment sends (Evalap's name: Hugging Face's Image feature as saved by `datasets`). */
export const IMAGE_COLUMN = 'img';

/**
 * The dataset as a with_vision experiment sees it: its Parquet rows (their
 * count, and the df's columns plus the Parquet's for metric requirements, as
 * Evalap checks them). Without an image column there is nothing to show the
 * model: an issue at `path`, so the launch is refused.
 */
export function visionRows(dataset: store.DatasetRecord, path: string, issues: FieldIssue[]): store.DatasetRecord {
  if (!dataset.parquet_columns.includes(IMAGE_COLUMN)) {
    const has = dataset.parquet_size ? `its Parquet columns are ${dataset.parquet_columns.map((c) => JSON.stringify(c)).join(', ')}` : 'it has no Parquet upload';
    issues.push({ path, message: `needs an image column ${JSON.stringify(IMAGE_COLUMN)} in the dataset's Parquet upload (POST /v1/dataset/${dataset.id}/upload_parquet); ${has}` });
  }
  return { ...dataset, size: dataset.parquet_size, columns: visionColumns(dataset) };
}

/** The columns a with_vision experiment's metrics may read: the df's and the Parquet upload's. */
export const visionColumns = (dataset: store.DatasetRecord) => [...new Set([...dataset.columns, ...dataset.parquet_columns])];

export const deleteDataset = (core: CoreContext, id: number) => core.db.transaction((client) => store.deleteDataset(client, id));

/** A dataset's rows page by page, in row order: what a preview shows, and the way to read a dataset too large for with_df. */
export async function listDatasetRows(core: CoreContext, id: number, q: { limit: number; cursor?: string }) {
  const dataset = await store.getDataset(core.db, id);
  const after = cursor.decode(q.cursor);
  const rows = await store.datasetRowsPage(core.db, id, after ?? -1, q.limit);
  const last = rows.at(-1)?.num_line;
  return { dataset_id: id, total: dataset.size, rows, next_cursor: rows.length === q.limit && last !== undefined && last < dataset.size - 1 ? cursor.encode(last) : null };
}
